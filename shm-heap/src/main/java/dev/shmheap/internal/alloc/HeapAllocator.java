package dev.shmheap.internal.alloc;

import dev.shmheap.RecoveryReport;
import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.buddy.BuddyCache;
import dev.shmheap.internal.buddy.DeadCaches;
import dev.shmheap.internal.jfr.HeapEvents;
import dev.shmheap.internal.jfr.SlowAllocationEvent;
import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.HolderMap;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.lock.HeapLocks;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.pagemap.PageMap;
import dev.shmheap.internal.slab.OwnedSet;
import dev.shmheap.internal.slab.OwnerRegistry;
import dev.shmheap.internal.slab.SetSource;
import dev.shmheap.internal.slab.SlabAllocator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Routes requests to the slab classes or the buddy and frees to where the page map says a
 * block lives, each step under the lock {@link HeapLocks} gives it; also the fallbacks of a
 * request that does not fit (release empty sets, serve a small block from a page) and
 * whole-heap repair. {@link BlockRequests} checks the arguments, admits by quota and describes
 * misuse; this class assumes valid requests.
 *
 * <p>Stripes: a class has one or two stripes (see {@code HeaderDescriptor}). An attachment
 * allocates from its preferred stripe of a class, first its process-table slot's parity; when
 * another process holds that stripe's lock and the other stripe's is free, it moves there
 * for good, so two processes hammering one class settle on different stripes. Frees go to the
 * stripe of the block's set, whoever frees.
 *
 * <p>Owned sets: each thread allocates a class's blocks from its current set, which this
 * process owns (see {@link OwnedSet}, {@link ThreadSets}): no lock, no atomic operation. A free
 * of a block of the thread's current set is local; a free into another owned set is one CAS
 * on its remote-free word; a free into an unowned set takes the stripe lock as before. The
 * stripe locks are taken only to take a set (from the partial list, growing the class) or to
 * give one back (full, at close, after the thread died, when a request cannot be met).
 * When the process's 64 registry entries are all in use, a thread allocates under the
 * stripe lock from unowned sets, as before owned sets.
 */
public final class HeapAllocator {
    /** What an allocation returns when the heap cannot satisfy it. */
    public static final long NO_SPACE = -1;
    /** {@link #free} results. */
    public static final int FREED = 0;
    public static final int NOT_A_LIVE_BLOCK = 1;
    /** What {@link #freeUnlessShared} returns, changing nothing, for a block whose holder byte says shared. */
    public static final int SHARED_BLOCK = 2;
    /**
     * How often a free retries when the block's page changed class under it (a set released
     * and reused between the unlocked look and the lock); more than a few in a row means the
     * offset is not a live block of a stable set.
     */
    private static final int FREE_ATTEMPTS = 8;
    /** How often a stripe move asks whether the holder of the stripe it left still runs. */
    private static final long ABANDONED_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final MappedMemory memory;
    private final HeapLayout layout;
    private final PageMap pages;
    private final BuddyAllocator buddy;
    /** Freed buddy blocks this attachment hands out again without the buddy lock (docs/design/BUDDY.md). */
    private final BuddyCache cache;
    private final DeadCaches deadCaches;
    private final SlabAllocator slab;
    private final HeapLocks locks;
    private final long token;
    private final String file;
    private final int stripes;
    /**
     * The stripe this attachment allocates from, per class. Threads sharing the attachment may
     * race on it; any value is a valid stripe.
     */
    private final int[] preferredStripe = new int[SizeClasses.COUNT];
    /** When this attachment last asked whether the holder of a stripe it moved away from runs. */
    private long lastAbandonedCheck = System.nanoTime() - ABANDONED_CHECK_NANOS;

    /**
     * A class's sets are owned only when one set is at most this fraction of the capacity: every
     * attached process and thread keeps its own set of each class it allocates, which a small
     * heap cannot spare (four processes owning a 256 KiB set of 4 KiB blocks each would fill a
     * 1 MiB heap). Other classes allocate from shared sets under the stripe lock, as before.
     */
    static final int OWNED_SET_SHARE = 64;
    private final boolean[] ownable = new boolean[SizeClasses.COUNT];
    private final int processSlot;
    /** This process's owner field value: slot + 1. */
    private final int owner;
    /** This process's holder byte (see {@code HolderMap}): slot + 1. */
    private final byte holder;
    private final OwnerRegistry registry;
    /** Every thread's sets, so that close and dead-thread reclaim find them; guarded by {@code this}. */
    private final List<ThreadSets> threads = new ArrayList<>();
    /** Registry entries of this slot in use, bit i = entry i; guarded by {@code this}. */
    private long usedIndices;
    private final ThreadLocal<ThreadSets> current = ThreadLocal.withInitial(this::newThreadSets);
    /**
     * The sets of the thread that last took a set, checked against the calling thread before
     * use: a hit skips the ThreadLocal's hash lookup (a few ns of a 64-byte pair). Written only
     * on the slow path, so threads sharing the attachment do not bounce it on every call. A
     * racy read is safe: {@code thread} is final, and a thread that matches it reads arrays
     * only it writes.
     */
    private ThreadSets recent;

    // Sections, built once so that no call captures a lambda.
    private final HeapLocks.ClassSection slabAllocate;
    private final HeapLocks.ClassSection slabFree;
    private final HeapLocks.ClassSection releaseSets;
    private final HeapLocks.ClassSection takeSet;
    private final HeapLocks.ClassSection releaseSet;
    private final HeapLocks.ClassSection releaseSetOf;
    private final HeapLocks.ClassSection collectUnowned;
    private final HeapLocks.Section buddyAllocate;
    private final HeapLocks.Section buddyFreeIfUsed;
    private final HeapLocks.Section coalesce;

    /** @param processSlot this attachment's process-table slot, or -1 for a read-only observer, which owns and adopts nothing */
    public HeapAllocator(MappedMemory memory, HeapLayout layout, PageMap pages, long token, int processSlot, String file) {
        this.memory = memory;
        this.layout = layout;
        this.pages = pages;
        this.token = token;
        this.file = file;
        this.stripes = layout.classStripes();
        this.buddy = new BuddyAllocator(memory, layout, pages);
        this.locks = new HeapLocks(memory, token, stripes, file, new HeapLocks.Repairs() {
            @Override
            public void rebuildBuddy() {
                buddy.rebuild();
            }

            @Override
            public void rebuildClass(int c, int s) {
                slab.rebuild(c, s);
            }
        });
        this.processSlot = processSlot;
        this.owner = processSlot + 1;
        this.holder = HolderMap.ofSlot(processSlot);
        this.registry = new OwnerRegistry(memory, layout);
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            ownable[c] = SizeClasses.setBytes(c) * OWNED_SET_SHARE <= layout.capacity();
        }
        ProcessTable processTable = new ProcessTable(memory, layout.processTableOffset());
        this.slab = new SlabAllocator(memory, layout, pages, new BuddySetSource(), registry, processTable::slotAlive);
        this.cache = new BuddyCache(memory, layout, pages, buddy, locks, processTable, processSlot, token, holder);
        this.deadCaches = new DeadCaches(memory, layout, pages, buddy, locks, processTable);
        Arrays.fill(preferredStripe, Math.max(processSlot, 0) % stripes);
        slabAllocate = (c, s, a, b) -> slab.allocate(c, s, holder);
        slabFree = (c, s, offset, entry) -> slab.free(c, s, offset, entry);
        releaseSets = (c, s, a, b) -> slab.releaseEmptySets(c, s);
        takeSet = (c, s, index, unused) -> slab.takeSet(c, s, owner, (int) index);
        releaseSet = (c, s, set, index) -> {
            slab.releaseSet(c, s, set, owner, (int) index);
            return 0;
        };
        releaseSetOf = (c, s, set, ownerAndIndex) -> {
            slab.releaseSet(c, s, set, (int) (ownerAndIndex >>> 8), (int) (ownerAndIndex & 0xFF));
            return 0;
        };
        collectUnowned = (c, s, set, unused) -> {
            slab.collectUnowned(c, s, set);
            return 0;
        };
        buddyAllocate = (order, owner) -> buddy.allocate((int) order, owner, holder);
        buddyFreeIfUsed = (page, unused) -> buddy.freeUsed(page) ? FREED : NOT_A_LIVE_BLOCK;
        coalesce = (a, b) -> {
            buddy.coalesce();
            return 0;
        };
        if (processSlot >= 0) {
            adoptLeftovers();
        }
    }

    /**
     * A slot whose previous holder died may still list sets it owned: release each one the
     * registry names and whose owner field is still this slot's, before this process takes
     * any set of its own, and clear every entry.
     */
    private void adoptLeftovers() {
        releaseSetsOf(processSlot);
    }

    /**
     * Gives back every set the registry of {@code slot} names and whose owner field is still
     * that slot's, and clears its entries. For this attachment's own slot at open, and for the
     * slot of a process that no longer runs, before that slot is freed (see DeadHolders).
     */
    public void releaseSetsOf(int slot) {
        int slotOwner = slot + 1;
        for (int i = 0; i < OwnerRegistry.ENTRIES; i++) {
            long set = registry.set(slot, i);
            if (set < 0) {
                continue;
            }
            long word0 = set < layout.pageCount() ? pages.word0(set) : 0;
            if (PageMapEntry.kind(word0) == PageMapEntry.SLAB && PageMapEntry.owner(word0) == slotOwner
                    && PageMapEntry.sizeClass(word0) < SizeClasses.COUNT && PageMapEntry.stripe(word0) < stripes) {
                locks.inClass(PageMapEntry.sizeClass(word0), PageMapEntry.stripe(word0), set, ((long) slotOwner << 8) | i, releaseSetOf);
            }
            registry.clear(slot, i);
        }
    }

    private ThreadSets threadSets() {
        ThreadSets t = recent;
        return t != null && t.thread == Thread.currentThread() ? t : current.get();
    }

    private ThreadSets newThreadSets() {
        ThreadSets sets = new ThreadSets(Thread.currentThread());
        synchronized (this) {
            threads.add(sets);
        }
        return sets;
    }

    public HeapLocks locks() {
        return locks;
    }

    /** The heap file, for messages and events. */
    public String file() {
        return file;
    }

    /**
     * Allocates a block for a valid request of {@code size} bytes aligned to {@code alignment};
     * returns its offset or {@link #NO_SPACE}. When the first try fails: a class whose set can
     * never fit this heap is served from a page; otherwise every class's empty sets go back
     * to the buddy and the request is tried again; a class that still gets no set is served
     * from one buddy page.
     */
    public long allocate(long size, long alignment) {
        int c = SizeClasses.classFor(size, alignment);
        if (c >= 0) {
            // the fast path: the thread's current set, two plain stores, no lock
            ThreadSets t = threadSets();
            long entry = t.entry[c];
            if (entry != 0) {
                int block = OwnedSet.allocate(memory, entry, t.holderLine[c], holder);
                if (block >= 0) {
                    return t.base[c] + ((long) block << (SizeClasses.MIN_SHIFT + c));
                }
            }
            return allocateSlow(t, c, size, alignment);
        }
        return allocateSlow(null, c, size, alignment);
    }

    /**
     * Everything but a block of the thread's current set ({@code t}; null for a buddy request):
     * a new owned set or a buddy block, then the fallbacks; timed for JFR's SlowAllocation event.
     */
    private long allocateSlow(ThreadSets t, int c, long size, long alignment) {
        SlowAllocationEvent slow = HeapEvents.beginSlowAllocation();
        long offset = t != null ? allocateOwned(t, c) : allocateBuddy(BuddyAllocator.orderFor(Math.max(size, alignment)));
        return HeapEvents.slowAllocationDone(slow, file, size, alignment, offset != NO_SPACE ? offset : allocateAfterFailure(c, size, alignment));
    }

    /**
     * The thread's current set of class {@code c} is full or missing: collect its remote frees;
     * if that frees nothing, give it back and take another. Without a registry entry, the
     * locked path serves the request.
     */
    private long allocateOwned(ThreadSets t, int c) {
        long entry = t.entry[c];
        if (entry != 0) {
            if (OwnedSet.collect(memory, entry) != 0) {
                return t.base[c] + ((long) OwnedSet.allocate(memory, entry, t.holderLine[c], holder) << (SizeClasses.MIN_SHIFT + c));
            }
            releaseCurrent(t, c);
        }
        if (!ownable[c]) {
            return allocateSlab(c);
        }
        int index = t.index[c];
        if (index < 0) {
            index = claimIndex();
            if (index < 0) {
                return allocateSlab(c);
            }
            t.index[c] = index;
        }
        long set = inPreferredStripe(c, index, 0, takeSet);
        if (set == SlabAllocator.NO_BLOCK) {
            return NO_SPACE;
        }
        long headEntry = pages.entry(set);
        t.install(c, set, headEntry, layout.pageOffset(set), layout.holderLine(set));
        recent = t;
        int block = OwnedSet.allocate(memory, headEntry, t.holderLine[c], holder);
        if (block < 0) {
            throw new IllegalStateException("slab set at page " + set + " was taken full");
        }
        return t.base[c] + ((long) block << (SizeClasses.MIN_SHIFT + c));
    }

    /** Gives the thread's current set of class {@code c} back to its stripe; the thread keeps its registry entry. */
    private void releaseCurrent(ThreadSets t, int c) {
        long set = t.set[c];
        int s = PageMapEntry.stripe(pages.word0(set));
        t.forget(c);
        locks.inClass(c, s, set, t.index[c], releaseSet);
    }

    /** A free registry entry of this slot, or -1; reclaims the sets of dead threads when none is free. */
    private synchronized int claimIndex() {
        if (usedIndices == -1L) {
            releaseDeadThreads();
        }
        if (usedIndices == -1L) {
            return -1;
        }
        int index = Long.numberOfTrailingZeros(~usedIndices);
        usedIndices |= 1L << index;
        return index;
    }

    /** Releases the sets and registry entries of threads that no longer run. */
    private synchronized void releaseDeadThreads() {
        for (int i = threads.size() - 1; i >= 0; i--) {
            ThreadSets t = threads.get(i);
            if (!t.thread.isAlive()) {
                releaseAll(t);
                threads.remove(i);
            }
        }
    }

    private synchronized void releaseAll(ThreadSets t) {
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            if (t.set[c] >= 0) {
                releaseCurrent(t, c);
            }
            if (t.index[c] >= 0) {
                usedIndices &= ~(1L << t.index[c]);
                t.index[c] = -1;
            }
        }
    }

    /** Gives back the calling thread's sets and those of dead threads (trim, a request that failed). */
    private void releaseOwnSets() {
        ThreadSets t = current.get();
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            if (t.set[c] >= 0) {
                releaseCurrent(t, c);
            }
        }
        releaseDeadThreads();
    }

    /** Releases every owned set of this attachment; {@code close()} calls it with no other call in flight. */
    public synchronized void close() {
        cache.close();
        for (ThreadSets t : threads) {
            releaseAll(t);
        }
        threads.clear();
    }

    /** Runs {@code section} under the lock of this attachment's preferred stripe of class {@code c}. */
    private long inPreferredStripe(int c, long a, long b, HeapLocks.ClassSection section) {
        int s = preferredStripe[c];
        if (stripes == 1) {
            return locks.inClass(c, s, a, b, section);
        }
        if (locks.tryLockClass(c, s)) {
            return locks.runAndUnlock(c, s, a, b, section);
        }
        int other = s ^ 1;
        if (locks.tryLockClass(c, other)) {
            preferredStripe[c] = other;
            long result = locks.runAndUnlock(c, other, a, b, section);
            repairIfAbandoned(c, s);
            return result;
        }
        return locks.inClass(c, s, a, b, section);
    }

    private long allocateAfterFailure(int c, long size, long alignment) {
        boolean setCanFit = c < 0 || SizeClasses.setOrder(c) <= layout.maxOrder();
        long offset = NO_SPACE;
        if (!setCanFit) {
            // Releasing other classes' empty sets for a set that never fits would only make them bounce.
            offset = allocateBuddy(0);
            if (offset != NO_SPACE) {
                return offset;
            }
        }
        releaseOwnSets();
        long cachedGiven = cache.flush();
        if (releaseEmptySets() + cachedGiven > 0) {
            offset = !setCanFit ? allocateBuddy(0)
                    : c >= 0 ? allocateOwned(current.get(), c) : allocateBuddy(BuddyAllocator.orderFor(Math.max(size, alignment)));
        }
        if (offset == NO_SPACE && c > 0 && setCanFit) {
            offset = allocateBuddy(0);
        }
        if (offset == NO_SPACE) HeapEvents.heapFull(file, size, alignment, memory.getLongVolatile(HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET));
        return offset;
    }

    /** The locked path: a block from an unowned set, for a process whose registry is full. */
    private long allocateSlab(int c) {
        return slabBlockOrNoSpace(inPreferredStripe(c, 0, 0, slabAllocate));
    }

    private static long slabBlockOrNoSpace(long offset) {
        return offset == SlabAllocator.NO_BLOCK ? NO_SPACE : offset;
    }

    /**
     * A stripe left because its lock was taken may have been left by a process that died
     * holding it: nobody else might ever wait on it long enough to find out (they move to the
     * other stripe too). At most once a millisecond, a move checks.
     */
    private void repairIfAbandoned(int c, int s) {
        long now = System.nanoTime();
        if (now - lastAbandonedCheck >= ABANDONED_CHECK_NANOS) {
            lastAbandonedCheck = now;
            locks.repairClassIfHolderDead(c, s);
        }
    }

    private long allocateBuddy(int order) {
        long page = cache.caches(order) ? cache.allocate(order) : BuddyAllocator.NO_BLOCK;
        if (page == BuddyAllocator.NO_BLOCK) {
            page = locks.inBuddy(order, token, buddyAllocate);
        }
        return page == BuddyAllocator.NO_BLOCK ? NO_SPACE : layout.pageOffset(page);
    }

    /**
     * Frees the block at {@code offset} (in the data region), whichever process allocated it.
     * Returns {@link #NOT_A_LIVE_BLOCK}, changing nothing, when it is not the start of a live
     * block; the caller describes the misuse.
     */
    public int free(long offset) {
        return free(offset, true);
    }

    /**
     * Like {@link #free} but returns {@link #SHARED_BLOCK}, changing nothing, when the block is
     * shared (a name may be bound to it: the caller looks before it frees). One read of the
     * block's holder byte, whose place each path below knows already.
     */
    public int freeUnlessShared(long offset) {
        return free(offset, false);
    }

    private int free(long offset, boolean sharedToo) {
        long page = layout.pageOf(offset);
        long entry = pages.entry(page);
        for (int attempt = 0; attempt < FREE_ATTEMPTS; attempt++) {
            long word0 = entry < 0 ? 0 : pages.word0At(entry);
            int kind = PageMapEntry.kind(word0);
            if ((kind == PageMapEntry.SLAB || kind == PageMapEntry.SLAB_PAGE) && PageMapEntry.sizeClass(word0) < SizeClasses.COUNT) {
                int c = PageMapEntry.sizeClass(word0);
                long set = page & -(1L << SizeClasses.setOrder(c));
                ThreadSets t = threadSets();
                if (t.set[c] == set) {
                    // the fast path: a block of this thread's current set, one plain store
                    int block = OwnedSet.blockIndex(offset, t.base[c], c);
                    if (block >= 0 && !sharedToo && shared(t.holderLine[c] + block)) {
                        return SHARED_BLOCK;
                    }
                    return block >= 0 && OwnedSet.free(memory, t.entry[c], block) ? FREED : NOT_A_LIVE_BLOCK;
                }
                int block = OwnedSet.blockIndex(offset, layout.pageOffset(set), c);
                if (block >= 0 && !sharedToo && shared(layout.holderLine(set) + block)) {
                    return SHARED_BLOCK;
                }
                int result = freeShared(c, set, page, kind, offset, entry, word0);
                if (result != RETRY) {
                    return result;
                }
            } else if (kind == PageMapEntry.USED && offset == layout.pageOffset(page)) {
                if (!sharedToo && shared(layout.holderLine(page))) {
                    return SHARED_BLOCK;
                }
                int result = freeBuddyBlock(page, word0);
                if (result != RETRY) {
                    return result;
                }
            } else {
                return NOT_A_LIVE_BLOCK;
            }
        }
        return NOT_A_LIVE_BLOCK;
    }

    private boolean shared(long holderByte) {
        return memory.getByte(holderByte) == HolderMap.SHARED;
    }

    private static final int RETRY = -1;

    /**
     * A USED buddy block whose head word was read as {@code word0}: into this attachment's
     * cache when it has room for the order, else to the buddy under its lock. {@link #RETRY}
     * when the cache's CAS lost to a change of the head (the caller reads it again).
     */
    private int freeBuddyBlock(long page, long word0) {
        if (cache.caches(PageMapEntry.order(word0))) {
            int cached = cache.free(page, word0);
            if (cached != BuddyCache.NO_ROOM) {
                return cached == BuddyCache.CACHED ? FREED : RETRY;
            }
        }
        return locks.inBuddy(page, 0, buddyFreeIfUsed) == FREED ? FREED : RETRY;
    }

    /** Gives the buddy caches of the slots with a nonzero {@code deadTokens[slot]} back (see {@link DeadCaches}); returns their bytes. */
    public long giveBackDeadCaches(long[] deadTokens) {
        return deadCaches.giveBack(deadTokens);
    }

    /** Gives this attachment's cached buddy blocks back to the buddy; returns their bytes. */
    public long flushCache() {
        return cache.flush();
    }

    /**
     * A block of a set that is not the thread's current one: one CAS on R when the set is
     * owned (by anyone), else the locked free. {@link #RETRY} when the set changed under us.
     */
    private int freeShared(int c, long set, long page, int kind, long offset, long entry, long word0) {
        long head = set == page && kind == PageMapEntry.SLAB ? entry : pages.entry(set);
        long headWord = head < 0 ? 0 : pages.word0At(head);
        if (PageMapEntry.kind(headWord) == PageMapEntry.SLAB && PageMapEntry.sizeClass(headWord) == c && PageMapEntry.owner(headWord) != 0) {
            int block = OwnedSet.blockIndex(offset, layout.pageOffset(set), c);
            if (block < 0) {
                return NOT_A_LIVE_BLOCK;
            }
            int result = OwnedSet.remoteFree(memory, head, block);
            if (result == OwnedSet.NOT_LIVE) {
                return NOT_A_LIVE_BLOCK;
            }
            if (result == OwnedSet.FREED_UNOWNED) {
                locks.inClass(c, PageMapEntry.stripe(headWord), set, 0, collectUnowned);
            }
            return FREED;
        }
        long result = locks.inClass(c, PageMapEntry.stripe(word0), offset, entry, slabFree);
        if (result == SlabAllocator.FREED) {
            return FREED;
        }
        return result == SlabAllocator.NOT_LIVE ? NOT_A_LIVE_BLOCK : RETRY;
    }

    /** Returns every class's empty sets to the buddy; returns the bytes released. */
    public long releaseEmptySets() {
        long released = 0;
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            for (int s = 0; s < stripes; s++) {
                released += locks.inClass(c, s, 0, 0, releaseSets);
            }
        }
        return released;
    }

    /** Releases empty sets, then merges every pair of free buddies; returns the bytes the classes released. */
    public long trim() {
        releaseOwnSets();
        cache.flush();
        long released = releaseEmptySets();
        locks.inBuddy(0, 0, coalesce);
        return released;
    }

    /**
     * Takes every allocator lock (within {@code timeoutNanos} per lock held by a live
     * process) and rebuilds the buddy lists and every class stripe from the page map (adopting
     * the sets of dead owners); the caller then settles the dead processes' slots and blocks.
     */
    public RecoveryReport recover(long timeoutNanos, String file) {
        return locks.withAllocatorLocks(timeoutNanos, "recover " + file, takenOver -> {
            long relinked = buddy.rebuild();
            for (int c = 0; c < SizeClasses.COUNT; c++) {
                for (int s = 0; s < stripes; s++) {
                    slab.rebuild(c, s);
                }
            }
            return new RecoveryReport(takenOver, 0, relinked, 0, 0, List.of());
        });
    }

    /** Slab sets come from the buddy allocator, under its lock, nested inside a class lock. */
    private final class BuddySetSource implements SetSource {
        private final HeapLocks.Section takeSets = (c, s) -> buddy.allocateSets((int) c, (int) s, layout.setGroupOrder((int) c));
        private final HeapLocks.Section returnSet = (page, unused) -> {
            buddy.free(page);
            return 0;
        };

        @Override
        public long takeSet(int sizeClass, int stripe) {
            long page = locks.inBuddyNested(sizeClass, stripe, takeSets);
            return page == BuddyAllocator.NO_BLOCK ? NO_SET : page;
        }

        @Override
        public void returnSet(long page) {
            locks.inBuddyNested(page, 0, returnSet);
        }
    }
}
