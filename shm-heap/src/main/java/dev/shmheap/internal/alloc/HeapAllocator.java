package dev.shmheap.internal.alloc;

import dev.shmheap.RecoveryReport;
import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.lock.HeapLocks;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.pagemap.PageMap;
import dev.shmheap.internal.slab.SetSource;
import dev.shmheap.internal.slab.SlabAllocator;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Routes requests to the slab classes or the buddy and frees to where the page map says a
 * block lives, each step under the lock {@link HeapLocks} gives it; also the fallbacks of a
 * request that does not fit (release empty sets, serve a small block from a page) and
 * whole-heap repair. {@code ShmHeap} checks the arguments and describes misuse; this class
 * assumes valid requests.
 *
 * <p>Stripes: a class has one or two stripes (see {@code HeaderDescriptor}). An attachment
 * allocates from its preferred stripe of a class, first its process-table slot's parity; when
 * another process holds that stripe's lock and the other stripe's is free, it moves there
 * for good, so two processes hammering one class settle on different stripes. Frees go to the
 * stripe of the block's set, whoever frees.
 */
public final class HeapAllocator {
    /** What an allocation returns when the heap cannot satisfy it. */
    public static final long NO_SPACE = -1;
    /** {@link #free} results. */
    public static final int FREED = 0;
    public static final int NOT_A_LIVE_BLOCK = 1;
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

    // Sections, built once so that no call captures a lambda.
    private final HeapLocks.ClassSection slabAllocate;
    private final HeapLocks.ClassSection slabFree;
    private final HeapLocks.ClassSection releaseSets;
    private final HeapLocks.Section buddyAllocate;
    private final HeapLocks.Section buddyFreeIfUsed;
    private final HeapLocks.Section coalesce;

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
        this.slab = new SlabAllocator(memory, layout, pages, new BuddySetSource());
        Arrays.fill(preferredStripe, processSlot % stripes);
        slabAllocate = (c, s, a, b) -> slab.allocate(c, s);
        slabFree = (c, s, offset, entry) -> slab.free(c, s, offset, entry);
        releaseSets = (c, s, a, b) -> slab.releaseEmptySets(c, s);
        buddyAllocate = (order, owner) -> buddy.allocate((int) order, owner);
        buddyFreeIfUsed = (page, unused) -> {
            if (PageMapEntry.kind(pages.word0(page)) != PageMapEntry.USED) {
                return NOT_A_LIVE_BLOCK;
            }
            buddy.free(page);
            return FREED;
        };
        coalesce = (a, b) -> {
            buddy.coalesce();
            return 0;
        };
    }

    public HeapLocks locks() {
        return locks;
    }

    /** Throws {@link IllegalArgumentException} naming what is wrong unless the request is valid in this heap. */
    public void checkRequest(long size, long alignment) {
        if (size > 0 && size <= SizeClasses.MAX_BLOCK && alignment == dev.shmheap.ShmHeap.DEFAULT_ALIGNMENT) {
            return; // the common request, valid in every heap: the rest stays out of the inlined path
        }
        checkUncommonRequest(size, alignment);
    }

    private void checkUncommonRequest(long size, long alignment) {
        if (size <= 0) {
            throw new IllegalArgumentException("size=" + size + " must be positive");
        }
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0) {
            throw new IllegalArgumentException("alignment=" + alignment + " must be a power of two");
        }
        if (alignment > layout.maxAlignment()) {
            throw new IllegalArgumentException("alignment=" + alignment + " exceeds the largest alignment " + layout.maxAlignment()
                    + " of heap " + file);
        }
        if (size > layout.largestBlock()) {
            throw new IllegalArgumentException("size=" + size + " exceeds the largest block " + layout.largestBlock() + " of heap " + file);
        }
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
        long offset = c >= 0 ? allocateSlab(c) : allocateBuddy(BuddyAllocator.orderFor(Math.max(size, alignment)));
        if (offset != NO_SPACE) {
            return offset;
        }
        return allocateAfterFailure(c, size, alignment);
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
        if (releaseEmptySets() > 0) {
            offset = !setCanFit ? allocateBuddy(0)
                    : c >= 0 ? allocateSlab(c) : allocateBuddy(BuddyAllocator.orderFor(Math.max(size, alignment)));
        }
        if (offset == NO_SPACE && c > 0 && setCanFit) {
            offset = allocateBuddy(0);
        }
        return offset;
    }

    private long allocateSlab(int c) {
        int s = preferredStripe[c];
        if (stripes == 1) {
            return slabBlockOrNoSpace(locks.inClass(c, s, 0, 0, slabAllocate));
        }
        if (locks.tryLockClass(c, s)) {
            return slabBlockOrNoSpace(locks.runAndUnlock(c, s, 0, 0, slabAllocate));
        }
        int other = s ^ 1;
        if (locks.tryLockClass(c, other)) {
            preferredStripe[c] = other;
            long offset = locks.runAndUnlock(c, other, 0, 0, slabAllocate);
            repairIfAbandoned(c, s);
            return slabBlockOrNoSpace(offset);
        }
        return slabBlockOrNoSpace(locks.inClass(c, s, 0, 0, slabAllocate));
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
        long page = locks.inBuddy(order, token, buddyAllocate);
        return page == BuddyAllocator.NO_BLOCK ? NO_SPACE : layout.pageOffset(page);
    }

    /**
     * Frees the block at {@code offset} (in the data region), whichever process allocated it.
     * Returns {@link #NOT_A_LIVE_BLOCK}, changing nothing, when it is not the start of a live
     * block; the caller describes the misuse.
     */
    public int free(long offset) {
        long page = layout.pageOf(offset);
        long entry = pages.entry(page);
        for (int attempt = 0; attempt < FREE_ATTEMPTS; attempt++) {
            long word0 = entry < 0 ? 0 : pages.word0At(entry);
            int kind = PageMapEntry.kind(word0);
            if ((kind == PageMapEntry.SLAB || kind == PageMapEntry.SLAB_PAGE) && PageMapEntry.sizeClass(word0) < SizeClasses.COUNT) {
                long result = locks.inClass(PageMapEntry.sizeClass(word0), PageMapEntry.stripe(word0), offset, entry, slabFree);
                if (result == SlabAllocator.FREED) {
                    return FREED;
                }
                if (result == SlabAllocator.NOT_LIVE) {
                    return NOT_A_LIVE_BLOCK;
                }
            } else if (kind == PageMapEntry.USED && offset == layout.pageOffset(page)) {
                if (locks.inBuddy(page, 0, buddyFreeIfUsed) == FREED) {
                    return FREED;
                }
            } else {
                return NOT_A_LIVE_BLOCK;
            }
        }
        return NOT_A_LIVE_BLOCK;
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
        long released = releaseEmptySets();
        locks.inBuddy(0, 0, coalesce);
        return released;
    }

    /**
     * Takes every allocator lock (within {@code timeoutNanos} per lock held by a live
     * process), rebuilds the buddy lists and every class stripe from the page map, and removes
     * dead processes from the process table.
     */
    public RecoveryReport recover(ProcessTable processTable, long timeoutNanos, String file) {
        return locks.withAllocatorLocks(timeoutNanos, "recover " + file, takenOver -> {
            long relinked = buddy.rebuild();
            for (int c = 0; c < SizeClasses.COUNT; c++) {
                for (int s = 0; s < stripes; s++) {
                    slab.rebuild(c, s);
                }
            }
            return new RecoveryReport(takenOver, processTable.removeDead(), relinked);
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
            long page = locks.inBuddy(sizeClass, stripe, takeSets);
            return page == BuddyAllocator.NO_BLOCK ? NO_SET : page;
        }

        @Override
        public void returnSet(long page) {
            locks.inBuddy(page, 0, returnSet);
        }
    }
}
