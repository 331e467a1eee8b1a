package dev.shmheap.internal.verify;

import dev.shmheap.internal.wait.SpinYieldPark;
import dev.shmheap.Problem;
import dev.shmheap.Problem.Kind;
import dev.shmheap.ProcessHoldings;
import dev.shmheap.VerifyReport;
import dev.shmheap.VerifyReport.Note;
import dev.shmheap.VerifyReport.Remedy;
import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.holders.HolderCensus;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.HolderMap;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.lock.HeapLocks;
import dev.shmheap.internal.process.ProcessTokens;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.lock.SpinLock;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.names.NameDirectory;
import dev.shmheap.internal.pagemap.PageMap;
import dev.shmheap.internal.pagemap.PageMapWalker;
import dev.shmheap.internal.slab.OwnedSet;
import dev.shmheap.internal.slab.OwnerRegistry;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

import static dev.shmheap.internal.layout.HeaderDescriptor.*;

/**
 * The full walker behind {@code ShmHeap.verify()}: recounts everything from the page map and
 * compares the caches and counters with it.
 *
 * <pre>
 *   walk covers pages [0, pageCount) with valid heads, exactly once
 *   free list of order k   == { FREE heads of order k }, prev/next links agree, no cycle
 *   partial list of (c, s) == { SLAB heads of class c, stripe s, with occupancy != all ones }
 *   free count of order k  == |free list of order k|
 *   buddy free bytes       == sum of FREE block bytes;  allocated == capacity - free
 *   (c, s) sets            == SLAB heads of class c stripe s
 *   (c, s) used            == sum of popcount(occupancy) over its unowned sets
 *   unowned set            :  R ⊆ O, A == 0
 *   owned set (owner k+1)  :  no partial-list link, slot k occupied, listed in slot k's registry
 *                             (O, R, A of an owned set change without locks: not checked)
 *   (c, s) allocations - frees == its used blocks; buddy allocations - frees == USED + SLAB + CACHED heads
 *   buddy allocated bytes  == USED + SLAB + CACHED block bytes
 *   cached block (owner k+1): slot k occupied (a cache changes without shared locks: the
 *                             slot's published cached bytes are not compared)
 *   mergeable pairs        == |{ FREE p of order k, p < its buddy, buddy FREE of order k }|
 *   USED, SLAB and CACHED blocks lie in reserved extents (sparse heaps)
 *   live block             :  holder byte SHARED, HANDED_OFF or slot k + 1 with slot k occupied
 * </pre>
 *
 * <p>It takes every lock (class locks in index order, then the buddy lock, then the
 * name-directory lock: the order every other path follows) so that the figures are of one
 * moment, except a lock whose owner is dead: that is reported and the walk goes on without it.
 */
public final class HeapVerifier {
    private static final int MAX_PROBLEMS = 200;

    private final MappedMemory memory;
    private final HeapLayout layout;
    private final PageMap pages;
    /** Only asked about buddies; the verifier never changes the heap through it. */
    private final BuddyAllocator buddy;
    private final ProcessTable processTable;
    private final NameDirectory names;
    private final long token;
    private final String file;
    private final OwnerRegistry registry;
    private final List<Problem> problems = new ArrayList<>();
    private final List<Note> notes = new ArrayList<>();
    private long suppressed;

    public HeapVerifier(MappedMemory memory, HeapLayout layout, PageMap pages, ProcessTable processTable, NameDirectory names,
                        long token, String file) {
        this.memory = memory;
        this.layout = layout;
        this.pages = pages;
        this.buddy = new BuddyAllocator(memory, layout, pages);
        this.processTable = processTable;
        this.names = names;
        this.token = token;
        this.file = file;
        this.registry = new OwnerRegistry(memory, layout);
    }

    public VerifyReport verify() {
        List<Long> held = new ArrayList<>();
        try {
            HeapLocks.forEach(layout.classStripes(), (offset, name) -> lock(offset, name, held));
            return check();
        } finally {
            for (int i = held.size() - 1; i >= 0; i--) {
                SpinLock.release(memory, held.get(i), token);
            }
        }
    }

    /**
     * The checks of {@link #verify()} without taking any lock, for an observer that may not
     * write (a read-only mapping): the caller proves its snapshot consistent (no live lock
     * holder, nothing changed during the walk; see {@code ConsistentReads}). A lock whose owner
     * is dead is reported as {@link #verify()} reports it.
     */
    public VerifyReport verifyUnlocked() {
        HeapLocks.forEach(layout.classStripes(), (offset, name) -> {
            long owner = memory.getLongVolatile(offset);
            if (owner != 0 && !ProcessTokens.isAlive(owner)) {
                deadOwner(offset, name);
            }
        });
        return check();
    }

    private void lock(long offset, String name, List<Long> held) {
        if (SpinLock.acquireUnlessOwnerDead(memory, offset, token, name + " of " + file, SpinYieldPark.NO_DEADLINE).held()) {
            held.add(offset);
        } else {
            deadOwner(offset, name);
        }
    }

    private void deadOwner(long offset, String name) {
        problem(Kind.DEAD_LOCK_OWNER, offset, Problem.NO_PAGE, name + " is held by dead " + ProcessTokens.describe(memory.getLongVolatile(offset))
                + ": the structure it protects may be half-updated (the next allocation repairs it)");
    }

    private VerifyReport check() {
        long pageCount = layout.pageCount();
        BitSet freeHeads = new BitSet();
        BitSet partialSets = new BitSet();
        long[] freeBlocksPerOrder = new long[ORDER_COUNT];
        // indexed by stripeIndex(class, stripe)
        long[] setsPerClass = new long[SizeClasses.COUNT * CLASS_STRIPES];
        long[] usedPerClass = new long[SizeClasses.COUNT * CLASS_STRIPES];
        long[] blocks = {0};
        long[] userBlocks = {0};
        long[] freeBytes = {0};
        long[] buddyUsedBytes = {0};
        long[] allocatedBlocks = {0};
        long[] covered = {0};
        long[] mergeablePairs = {0};
        long[] ownedUsedBytes = {0};
        long[] deadOwnedSets = {0};
        long[] cachedBytes = {0};
        long[] deadCachedBytes = {0};
        PageMapWalker.walkReportingPages(pages, layout, (page, word0, word1) -> {
            blocks[0]++;
            int order = PageMapEntry.order(word0);
            long bytes = BuddyAllocator.blockBytes(order);
            covered[0] += 1L << order;
            switch (PageMapEntry.kind(word0)) {
                case PageMapEntry.FREE -> {
                    freeHeads.set(Math.toIntExact(page));
                    freeBlocksPerOrder[order]++;
                    freeBytes[0] += bytes;
                    if ((page & (1L << order)) == 0 && buddy.hasFreeBuddy(page, order)) {
                        mergeablePairs[0]++;
                    }
                }
                case PageMapEntry.USED -> {
                    allocatedBlocks[0]++;
                    userBlocks[0]++;
                    buddyUsedBytes[0] += bytes;
                    checkDataReserved(page, order);
                }
                case PageMapEntry.SLAB -> {
                    allocatedBlocks[0]++;
                    int c = PageMapEntry.sizeClass(word0);
                    if (PageMapEntry.stripe(word0) >= layout.classStripes()) {
                        pageProblem(Kind.SLAB_SET, page, "page " + page + ": slab set of stripe " + PageMapEntry.stripe(word0) + " in a heap with "
                                + layout.classStripes() + " stripe per class");
                    }
                    int k = stripeIndex(c, PageMapEntry.stripe(word0));
                    setsPerClass[k]++;
                    long entry = pages.entry(page);
                    int owner = PageMapEntry.owner(word0);
                    if (owner != 0) {
                        checkOwnedSet(page, word0, owner, deadOwnedSets);
                        long live = OwnedSet.liveBlocks(memory, entry);
                        userBlocks[0] += live;
                        ownedUsedBytes[0] += live * SizeClasses.blockSize(c);
                    } else {
                        usedPerClass[k] += Long.bitCount(word1);
                        userBlocks[0] += Long.bitCount(word1);
                        long remote = pages.word2At(entry);
                        if ((remote & ~word1) != 0) {
                            pageProblem(Kind.SLAB_SET, page, "page " + page + ": unowned slab set has remote-free bits 0x" + Long.toHexString(remote & ~word1)
                                    + " of blocks that are not in its occupancy word");
                        }
                        if (pages.word3At(entry) != 0) {
                            pageProblem(Kind.SLAB_SET, page, "page " + page + ": unowned slab set carries an owner's allocation count " + pages.word3At(entry));
                        }
                        if (word1 != -1L) {
                            partialSets.set(Math.toIntExact(page));
                        } else if (PageMapEntry.link(word0) != 0) {
                            pageProblem(Kind.PARTIAL_LIST, page, "page " + page + ": full slab set carries a partial-list link");
                        }
                    }
                    checkSetPages(page, c, PageMapEntry.stripe(word0));
                    checkDataReserved(page, order);
                }
                case PageMapEntry.CACHED -> {
                    allocatedBlocks[0]++;
                    cachedBytes[0] += bytes;
                    deadCachedBytes[0] += checkCachedBlock(page, word0) ? 0 : bytes;
                    checkDataReserved(page, order);
                }
                default -> throw new IllegalStateException("walker visited a non-head");
            }
            return true;
        }, (page, problem) -> pageProblem(Kind.PAGE_MAP, page, problem));
        if (covered[0] != pageCount && problems.isEmpty()) {
            problem(Kind.PAGE_MAP, Problem.NO_OFFSET, Problem.NO_PAGE, "the page-map walk covered " + covered[0] + " pages of " + pageCount);
        }

        for (int order = 0; order < ORDER_COUNT; order++) {
            long onList = checkFreeList(order, freeHeads);
            long counted = memory.getLongVolatile(freeCountOffset(order));
            if (counted != onList) {
                problem(Kind.COUNTER, freeCountOffset(order), Problem.NO_PAGE, "free-block count of order " + order + " is " + counted + ", the free list holds " + onList);
            }
            if (order < freeBlocksPerOrder.length && onList != freeBlocksPerOrder[order] && problems.isEmpty()) {
                problem(Kind.FREE_LIST, freeListHeadOffset(order), Problem.NO_PAGE, "free list of order " + order + " holds " + onList + " blocks, the page map has " + freeBlocksPerOrder[order]);
            }
        }
        freeHeads.stream().limit(10).forEach(page -> pageProblem(Kind.FREE_LIST, page, "free block at page " + page + " is on no free list"));

        long slabBytes = 0;
        long slabUsedBytes = 0;
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            for (int s = 0; s < layout.classStripes(); s++) {
                int k = stripeIndex(c, s);
                String name = "class " + SizeClasses.blockSize(c) + " stripe " + s;
                checkPartialList(c, s, partialSets);
                expectCounter(classOffset(c, s, CLASS_SET_COUNT), setsPerClass[k], "set count of " + name);
                expectCounter(classOffset(c, s, CLASS_USED_BLOCKS), usedPerClass[k], "used blocks of " + name);
                expectDifference(classOffset(c, s, CLASS_ALLOCATIONS), classOffset(c, s, CLASS_FREES), usedPerClass[k],
                        name + " allocations - frees");
                slabBytes += setsPerClass[k] * SizeClasses.setBytes(c);
                slabUsedBytes += usedPerClass[k] * SizeClasses.blockSize(c);
            }
        }
        partialSets.stream().limit(10).forEach(page -> pageProblem(Kind.PARTIAL_LIST, page, "slab set at page " + page + " has a free block but is on no partial list"));

        expectCounter(BUDDY_FREE_BYTES_OFFSET, freeBytes[0], "buddy free bytes");
        expectCounter(BUDDY_ALLOCATED_BYTES_OFFSET, buddyUsedBytes[0] + slabBytes + cachedBytes[0], "buddy allocated bytes");
        expectCounter(BUDDY_SET_BYTES_OFFSET, slabBytes, "buddy slab-set bytes");
        expectCounter(BUDDY_MERGEABLE_PAIRS_OFFSET, mergeablePairs[0], "buddy mergeable pairs");
        expectDifference(BUDDY_ALLOCATIONS_OFFSET, BUDDY_FREES_OFFSET, allocatedBlocks[0], "buddy allocations - frees");

        checkNames();
        List<ProcessHoldings> deadHoldings = checkHolders();
        for (ProcessTable.Entry p : processTable.entries()) {
            if (!p.alive()) {
                notes.add(new Note("pid " + p.pid() + " is registered but no longer runs (it did not close the heap)", Remedy.NONE));
            }
        }
        for (ProcessHoldings dead : deadHoldings) {
            notes.add(new Note("pid " + dead.pid() + ", which no longer runs, holds " + dead.blocks() + " blocks, " + dead.bytes() + " bytes",
                    Remedy.RECLAIM_DEAD));
        }
        if (deadCachedBytes[0] > 0) {
            notes.add(new Note(deadCachedBytes[0] + " bytes are in the buddy caches of processes that no longer run (the next open "
                    + "gives them back too)", Remedy.RECLAIM_DEAD));
        }
        if (deadOwnedSets[0] > 0) {
            notes.add(new Note(deadOwnedSets[0] + " slab sets are owned by processes that no longer run", Remedy.RECOVER));
        }
        if (suppressed > 0) {
            problems.add(new Problem(Kind.MORE, Problem.NO_OFFSET, Problem.NO_PAGE, "... and " + suppressed + " more problems"));
        }
        return new VerifyReport(blocks[0], userBlocks[0], freeBytes[0], buddyUsedBytes[0] + slabUsedBytes + ownedUsedBytes[0], problems, notes,
                deadHoldings);
    }

    /**
     * The holder record: every live block names a holder, and a process holder names an
     * occupied process-table slot (a slot is freed only once its process holds nothing).
     * Returns the holdings of slots whose process no longer runs.
     */
    private List<ProcessHoldings> checkHolders() {
        long[] blocks = new long[ProcessTable.SLOT_COUNT];
        long[] bytes = new long[ProcessTable.SLOT_COUNT];
        long[] tokens = new long[ProcessTable.SLOT_COUNT];
        for (int slot = 0; slot < ProcessTable.SLOT_COUNT; slot++) {
            tokens[slot] = processTable.tokenAt(slot);
        }
        HolderCensus.walk(memory, layout, pages, (offset, size, holderOffset, holder) -> {
            if (holder == HolderMap.SHARED || holder == HolderMap.HANDED_OFF) {
                return;
            }
            int slot = HolderMap.slotOf(holder);
            if (slot < 0) {
                problem(Kind.HOLDER, holderOffset, layout.pageOf(offset), "live block at offset " + offset + " (" + size
                        + " bytes) has holder byte 0x" + Integer.toHexString(holder & 0xFF) + ": " + HolderMap.describe(holder));
            } else if (tokens[slot] == 0) {
                problem(Kind.HOLDER, holderOffset, layout.pageOf(offset), "live block at offset " + offset + " (" + size
                        + " bytes) is held by process-table slot " + slot + ", which is free");
            } else {
                blocks[slot]++;
                bytes[slot] += size;
            }
        });
        List<ProcessHoldings> dead = new ArrayList<>();
        for (int slot = 0; slot < ProcessTable.SLOT_COUNT; slot++) {
            if (blocks[slot] > 0 && !ProcessTokens.isAlive(tokens[slot])) {
                dead.add(new ProcessHoldings(slot, ProcessTokens.pidOf(tokens[slot]), tokens[slot] & 0xFFFF_FFFFL, false, blocks[slot], bytes[slot]));
            }
        }
        return dead;
    }

    /**
     * A block in a process's buddy cache: its owner's slot must be occupied (a slot is freed
     * only after its cache was given back). Returns whether that process still runs.
     */
    private boolean checkCachedBlock(long page, long word0) {
        int slot = PageMapEntry.owner(word0) - 1;
        long token = processTable.tokenAt(slot);
        if (token == 0) {
            pageProblem(Kind.PAGE_MAP, page, "page " + page + ": block of " + BuddyAllocator.blockBytes(PageMapEntry.order(word0))
                    + " bytes is in the buddy cache of process-table slot " + slot + ", which is free");
            return true;
        }
        return ProcessTokens.isAlive(token);
    }

    /** Every bound name must name a live block; the directory itself holds only valid states. */
    private void checkNames() {
        int corrupt = names.corruptEntries();
        if (corrupt > 0) {
            problem(Kind.NAME_DIRECTORY, layout.nameDirectoryOffset(), Problem.NO_PAGE, corrupt + " name-directory entries have a state word that is neither empty nor bound");
        }
        names.entries().forEach((name, offset) -> {
            if (pages.liveBlockSize(offset) < 0) {
                problem(Kind.NAME_DIRECTORY, offset >= 0 ? offset : Problem.NO_OFFSET, Problem.NO_PAGE, "name '" + name + "' is bound to offset " + offset + ", which is not a live block");
            }
        });
    }

    /**
     * An owned set: off the partial lists, its owner's slot occupied, and listed in that slot's
     * registry (taking writes the entry before the owner field, releasing clears it after, both
     * under the stripe lock this walk holds).
     */
    private void checkOwnedSet(long page, long word0, int owner, long[] deadOwnedSets) {
        if (PageMapEntry.link(word0) != 0) {
            pageProblem(Kind.PARTIAL_LIST, page, "page " + page + ": slab set owned by slot " + (owner - 1) + " carries a partial-list link");
        }
        long holder = processTable.tokenAt(owner - 1);
        if (holder == 0) {
            pageProblem(Kind.SLAB_SET, page, "page " + page + ": slab set is owned by process-table slot " + (owner - 1) + ", which is free");
        } else if (!ProcessTokens.isAlive(holder)) {
            deadOwnedSets[0]++;
        }
        if (!registry.contains(owner - 1, page)) {
            pageProblem(Kind.SLAB_SET, page, "page " + page + ": slab set owned by slot " + (owner - 1) + " is missing from that slot's owned-set registry");
        }
    }

    private static int stripeIndex(int c, int s) {
        return c * CLASS_STRIPES + s;
    }

    private void checkSetPages(long head, int c, int s) {
        int order = SizeClasses.setOrder(c);
        long expected = PageMapEntry.slabWord0(PageMapEntry.SLAB_PAGE, c, s, 0);
        for (long p = 1; p < (1L << order); p++) {
            long word0 = pages.word0(head + p);
            if (word0 != expected) {
                pageProblem(Kind.SLAB_SET, head + p, "page " + (head + p) + " of the slab set at page " + head + " is " + PageMapEntry.toString(word0)
                        + ", expected SLAB_PAGE of class " + SizeClasses.blockSize(c));
                return;
            }
        }
    }

    private void checkDataReserved(long page, int order) {
        long first = page / HeapLayout.PAGES_PER_EXTENT;
        long last = (page + (1L << order) - 1) / HeapLayout.PAGES_PER_EXTENT;
        for (long e = first; e <= last; e++) {
            if (!pages.reservations().dataReserved(e)) {
                pageProblem(Kind.UNRESERVED_EXTENT, page, "block at page " + page + " is handed out but data extent " + e + " is not reserved");
                return;
            }
        }
    }

    private long checkFreeList(int order, BitSet freeHeads) {
        String where = "free list of order " + order;
        long linkOffset = freeListHeadOffset(order); // where the link being followed is stored
        long link = memory.getLongVolatile(linkOffset);
        long previous = 0;
        long count = 0;
        while (link != 0) {
            if (link < 0 || link > layout.pageCount()) {
                problem(Kind.FREE_LIST, linkOffset, Problem.NO_PAGE, where + ": link " + link + " (after " + count
                        + " blocks) is outside pages 1.." + layout.pageCount());
                break;
            }
            long page = link - 1;
            long word0 = pages.word0(page);
            if (PageMapEntry.kind(word0) != PageMapEntry.FREE || PageMapEntry.order(word0) != order) {
                pageProblem(Kind.FREE_LIST, page, where + ": page " + page + " is " + PageMapEntry.toString(word0) + ", expected FREE of order " + order);
                break;
            }
            if (!freeHeads.get(Math.toIntExact(page))) {
                pageProblem(Kind.FREE_LIST, page, where + ": page " + page + " is listed twice or is not a block head (cycle?)");
                break;
            }
            freeHeads.clear(Math.toIntExact(page));
            if (pages.word1(page) != previous) {
                pageProblem(Kind.FREE_LIST, page, where + ": page " + page + " has previous link " + pages.word1(page) + ", expected " + previous);
            }
            count++;
            previous = link;
            linkOffset = layout.entryOffset(page) + PageMapEntry.WORD0;
            link = PageMapEntry.link(word0);
        }
        return count;
    }

    private void checkPartialList(int c, int s, BitSet partialSets) {
        String where = "partial list of class " + SizeClasses.blockSize(c) + " stripe " + s;
        long linkOffset = classOffset(c, s, CLASS_PARTIAL_HEAD); // where the link being followed is stored
        long link = memory.getLongVolatile(linkOffset);
        long count = 0;
        while (link != 0) {
            if (link < 0 || link > layout.pageCount()) {
                problem(Kind.PARTIAL_LIST, linkOffset, Problem.NO_PAGE, where + ": link " + link + " (after " + count
                        + " sets) is outside pages 1.." + layout.pageCount());
                return;
            }
            long page = link - 1;
            long word0 = pages.word0(page);
            if (PageMapEntry.kind(word0) != PageMapEntry.SLAB || PageMapEntry.sizeClass(word0) != c || PageMapEntry.stripe(word0) != s) {
                pageProblem(Kind.PARTIAL_LIST, page, where + ": page " + page + " is " + PageMapEntry.toString(word0)
                        + ", expected a set of this class and stripe");
                return;
            }
            if (!partialSets.get(Math.toIntExact(page))) {
                pageProblem(Kind.PARTIAL_LIST, page, where + ": set at page " + page + " is full, listed twice, or part of a cycle");
                return;
            }
            partialSets.clear(Math.toIntExact(page));
            count++;
            linkOffset = layout.entryOffset(page) + PageMapEntry.WORD0;
            link = PageMapEntry.link(word0);
        }
    }

    private void expectCounter(long offset, long recounted, String name) {
        long stored = memory.getLongVolatile(offset);
        if (stored != recounted) {
            problem(Kind.COUNTER, offset, Problem.NO_PAGE, name + " is " + stored + " in the header, a recount gives " + recounted);
        }
    }

    /** Statistics counters obey {@code allocations - frees == live blocks} (repairs keep it so). */
    private void expectDifference(long allocationsOffset, long freesOffset, long live, String name) {
        long allocations = memory.getLongVolatile(allocationsOffset);
        long frees = memory.getLongVolatile(freesOffset);
        if (allocations - frees != live || allocations < 0 || frees < 0) {
            problem(Kind.COUNTER, allocationsOffset, Problem.NO_PAGE, name + " is " + allocations + " - " + frees + " = " + (allocations - frees) + " in the header, a recount gives "
                    + live + " live blocks");
        }
    }

    /** A problem about data page {@code page}, located at the page's first byte. */
    private void pageProblem(Kind kind, long page, String message) {
        boolean inRange = page >= 0 && page < layout.pageCount();
        problem(kind, inRange ? layout.pageOffset(page) : Problem.NO_OFFSET, inRange ? page : Problem.NO_PAGE, message);
    }

    private void problem(Kind kind, long offset, long page, String message) {
        if (problems.size() < MAX_PROBLEMS) {
            problems.add(new Problem(kind, offset, page, message));
        } else {
            suppressed++;
        }
    }
}
