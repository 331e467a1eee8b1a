package dev.shmheap.internal.verify;

import dev.shmheap.AttachedProcess;
import dev.shmheap.Backoff;
import dev.shmheap.VerifyReport;
import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.lock.HeapLocks;
import dev.shmheap.internal.lock.ProcessIdentity;
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
 *   (c, s) allocations - frees == its used blocks; buddy allocations - frees == USED + SLAB heads
 *   mergeable pairs        == |{ FREE p of order k, p < its buddy, buddy FREE of order k }|
 *   USED and SLAB blocks lie in reserved extents (sparse heaps)
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
    private final HeapLocks locks;
    private final long token;
    private final OwnerRegistry registry;
    private final List<String> problems = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private long suppressed;

    public HeapVerifier(MappedMemory memory, HeapLayout layout, PageMap pages, ProcessTable processTable, NameDirectory names,
                        HeapLocks locks, long token) {
        this.memory = memory;
        this.layout = layout;
        this.pages = pages;
        this.buddy = new BuddyAllocator(memory, layout, pages);
        this.processTable = processTable;
        this.names = names;
        this.locks = locks;
        this.token = token;
        this.registry = new OwnerRegistry(memory, layout);
    }

    public VerifyReport verify() {
        List<Long> held = new ArrayList<>();
        try {
            for (int i = 0; i < locks.count(); i++) {
                lock(locks.offset(i), locks.shortName(i), held);
            }
            return check();
        } finally {
            for (int i = held.size() - 1; i >= 0; i--) {
                SpinLock.release(memory, held.get(i), token);
            }
        }
    }

    private void lock(long offset, String name, List<Long> held) {
        if (SpinLock.acquireUnlessOwnerDead(memory, offset, token, name, Backoff.NO_DEADLINE).held()) {
            held.add(offset);
        } else {
            problem(name + " is held by dead " + ProcessIdentity.describe(memory.getLongVolatile(offset))
                    + ": the structure it protects may be half-updated (the next allocation repairs it)");
        }
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
        long[] freeBytes = {0};
        long[] buddyUsedBytes = {0};
        long[] deadOwnedBytes = {0};
        long[] allocatedBlocks = {0};
        long[] covered = {0};
        long[] mergeablePairs = {0};
        long[] ownedUsedBytes = {0};
        long[] deadOwnedSets = {0};
        PageMapWalker.walk(pages, layout, (page, word0, word1) -> {
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
                    buddyUsedBytes[0] += bytes;
                    checkDataReserved(page, order);
                    if (word1 == 0 || !ProcessIdentity.isAlive(word1)) {
                        deadOwnedBytes[0] += bytes;
                    }
                }
                case PageMapEntry.SLAB -> {
                    allocatedBlocks[0]++;
                    int c = PageMapEntry.sizeClass(word0);
                    if (PageMapEntry.stripe(word0) >= layout.classStripes()) {
                        problem("page " + page + ": slab set of stripe " + PageMapEntry.stripe(word0) + " in a heap with "
                                + layout.classStripes() + " stripe per class");
                    }
                    int k = stripeIndex(c, PageMapEntry.stripe(word0));
                    setsPerClass[k]++;
                    long entry = pages.entry(page);
                    int owner = PageMapEntry.owner(word0);
                    if (owner != 0) {
                        checkOwnedSet(page, word0, owner, deadOwnedSets);
                        ownedUsedBytes[0] += OwnedSet.liveBlocks(memory, entry) * SizeClasses.blockSize(c);
                    } else {
                        usedPerClass[k] += Long.bitCount(word1);
                        long remote = pages.word2At(entry);
                        if ((remote & ~word1) != 0) {
                            problem("page " + page + ": unowned slab set has remote-free bits 0x" + Long.toHexString(remote & ~word1)
                                    + " of blocks that are not in its occupancy word");
                        }
                        if (pages.word3At(entry) != 0) {
                            problem("page " + page + ": unowned slab set carries an owner's allocation count " + pages.word3At(entry));
                        }
                        if (word1 != -1L) {
                            partialSets.set(Math.toIntExact(page));
                        } else if (PageMapEntry.link(word0) != 0) {
                            problem("page " + page + ": full slab set carries a partial-list link");
                        }
                    }
                    checkSetPages(page, c, PageMapEntry.stripe(word0));
                    checkDataReserved(page, order);
                }
                default -> throw new IllegalStateException("walker visited a non-head");
            }
            return true;
        }, this::problem);
        if (covered[0] != pageCount && problems.isEmpty()) {
            problem("the page-map walk covered " + covered[0] + " pages of " + pageCount);
        }

        for (int order = 0; order < ORDER_COUNT; order++) {
            long onList = checkFreeList(order, freeHeads);
            long counted = memory.getLongVolatile(freeCountOffset(order));
            if (counted != onList) {
                problem("free-block count of order " + order + " is " + counted + ", the free list holds " + onList);
            }
            if (order < freeBlocksPerOrder.length && onList != freeBlocksPerOrder[order] && problems.isEmpty()) {
                problem("free list of order " + order + " holds " + onList + " blocks, the page map has " + freeBlocksPerOrder[order]);
            }
        }
        freeHeads.stream().limit(10).forEach(page -> problem("free block at page " + page + " is on no free list"));

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
        partialSets.stream().limit(10).forEach(page -> problem("slab set at page " + page + " has a free block but is on no partial list"));

        expectCounter(BUDDY_FREE_BYTES_OFFSET, freeBytes[0], "buddy free bytes");
        expectCounter(BUDDY_ALLOCATED_BYTES_OFFSET, buddyUsedBytes[0] + slabBytes, "buddy allocated bytes");
        expectCounter(BUDDY_SET_BYTES_OFFSET, slabBytes, "buddy slab-set bytes");
        expectCounter(BUDDY_MERGEABLE_PAIRS_OFFSET, mergeablePairs[0], "buddy mergeable pairs");
        expectDifference(BUDDY_ALLOCATIONS_OFFSET, BUDDY_FREES_OFFSET, allocatedBlocks[0], "buddy allocations - frees");

        checkNames();
        for (AttachedProcess p : processTable.entries()) {
            if (!p.alive()) {
                notes.add("pid " + p.pid() + " is registered but no longer runs (it did not close the heap)");
            }
        }
        if (deadOwnedSets[0] > 0) {
            notes.add(deadOwnedSets[0] + " slab sets are owned by processes that no longer run (recover() adopts them)");
        }
        if (deadOwnedBytes[0] > 0) {
            notes.add(deadOwnedBytes[0] + " bytes of buddy blocks are held by processes that no longer run");
        }
        if (suppressed > 0) {
            problems.add("... and " + suppressed + " more problems");
        }
        return new VerifyReport(blocks[0], freeBytes[0], buddyUsedBytes[0] + slabUsedBytes + ownedUsedBytes[0], problems, notes);
    }

    /** Every bound name must name a live block; the directory itself holds only valid states. */
    private void checkNames() {
        int corrupt = names.corruptEntries();
        if (corrupt > 0) {
            problem(corrupt + " name-directory entries have a state word that is neither empty nor bound");
        }
        names.entries().forEach((name, offset) -> {
            if (pages.liveBlockSize(offset) < 0) {
                problem("name '" + name + "' is bound to offset " + offset + ", which is not a live block");
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
            problem("page " + page + ": slab set owned by slot " + (owner - 1) + " carries a partial-list link");
        }
        long holder = processTable.tokenAt(owner - 1);
        if (holder == 0) {
            problem("page " + page + ": slab set is owned by process-table slot " + (owner - 1) + ", which is free");
        } else if (!ProcessIdentity.isAlive(holder)) {
            deadOwnedSets[0]++;
        }
        if (!registry.contains(owner - 1, page)) {
            problem("page " + page + ": slab set owned by slot " + (owner - 1) + " is missing from that slot's owned-set registry");
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
                problem("page " + (head + p) + " of the slab set at page " + head + " is " + PageMapEntry.toString(word0)
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
                problem("block at page " + page + " is handed out but data extent " + e + " is not reserved");
                return;
            }
        }
    }

    private long checkFreeList(int order, BitSet freeHeads) {
        String where = "free list of order " + order;
        long link = memory.getLongVolatile(freeListHeadOffset(order));
        long previous = 0;
        long count = 0;
        while (link != 0) {
            if (link < 0 || link > layout.pageCount()) {
                problem(where + ": link " + link + " (after " + count + " blocks) is outside pages 1.." + layout.pageCount());
                break;
            }
            long page = link - 1;
            long word0 = pages.word0(page);
            if (PageMapEntry.kind(word0) != PageMapEntry.FREE || PageMapEntry.order(word0) != order) {
                problem(where + ": page " + page + " is " + PageMapEntry.toString(word0) + ", expected FREE of order " + order);
                break;
            }
            if (!freeHeads.get(Math.toIntExact(page))) {
                problem(where + ": page " + page + " is listed twice or is not a block head (cycle?)");
                break;
            }
            freeHeads.clear(Math.toIntExact(page));
            if (pages.word1(page) != previous) {
                problem(where + ": page " + page + " has previous link " + pages.word1(page) + ", expected " + previous);
            }
            count++;
            previous = link;
            link = PageMapEntry.link(word0);
        }
        return count;
    }

    private void checkPartialList(int c, int s, BitSet partialSets) {
        String where = "partial list of class " + SizeClasses.blockSize(c) + " stripe " + s;
        long link = memory.getLongVolatile(classOffset(c, s, CLASS_PARTIAL_HEAD));
        long count = 0;
        while (link != 0) {
            if (link < 0 || link > layout.pageCount()) {
                problem(where + ": link " + link + " (after " + count + " sets) is outside pages 1.." + layout.pageCount());
                return;
            }
            long page = link - 1;
            long word0 = pages.word0(page);
            if (PageMapEntry.kind(word0) != PageMapEntry.SLAB || PageMapEntry.sizeClass(word0) != c || PageMapEntry.stripe(word0) != s) {
                problem(where + ": page " + page + " is " + PageMapEntry.toString(word0) + ", expected a set of this class and stripe");
                return;
            }
            if (!partialSets.get(Math.toIntExact(page))) {
                problem(where + ": set at page " + page + " is full, listed twice, or part of a cycle");
                return;
            }
            partialSets.clear(Math.toIntExact(page));
            count++;
            link = PageMapEntry.link(word0);
        }
    }

    private void expectCounter(long offset, long recounted, String name) {
        long stored = memory.getLongVolatile(offset);
        if (stored != recounted) {
            problem(name + " is " + stored + " in the header, a recount gives " + recounted);
        }
    }

    /** Statistics counters obey {@code allocations - frees == live blocks} (repairs keep it so). */
    private void expectDifference(long allocationsOffset, long freesOffset, long live, String name) {
        long allocations = memory.getLongVolatile(allocationsOffset);
        long frees = memory.getLongVolatile(freesOffset);
        if (allocations - frees != live || allocations < 0 || frees < 0) {
            problem(name + " is " + allocations + " - " + frees + " = " + (allocations - frees) + " in the header, a recount gives "
                    + live + " live blocks");
        }
    }

    private void problem(String problem) {
        if (problems.size() < MAX_PROBLEMS) {
            problems.add(problem);
        } else {
            suppressed++;
        }
    }
}
