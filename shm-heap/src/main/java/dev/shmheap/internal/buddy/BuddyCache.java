package dev.shmheap.internal.buddy;

import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.lock.HeapLocks;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.memory.Counters;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.pagemap.PageMap;

/**
 * One attachment's cache of freed buddy blocks (docs/design/BUDDY.md): per order from
 * {@link #MIN_ORDER} to {@link #MAX_ORDER}, a stack of block pages this process freed and will
 * hand out again without the buddy lock. The page map stays the truth: a cached block's head
 * is CACHED with this process's owner field, so stats, verify and a survivor see it.
 *
 * <p>Transitions (each commit is one store or CAS of the head's word 0):
 * <ul>
 *   <li>free: CAS USED -> CACHED(owner) from the word the freer read, then publish the cache's
 *       bytes; a lost CAS means another free of the same block won: not a live block;</li>
 *   <li>allocate: holder byte, word 1 = token, then word 0 = USED (release), then publish;</li>
 *   <li>refill (a miss): under the buddy lock, up to {@link #FILL_BLOCKS} blocks FREE ->
 *       CACHED(owner) straight from the free lists, then publish; the request takes one;</li>
 *   <li>give back (flush, or a bound reached): under the buddy lock, CACHED(owner) -> FREE,
 *       then publish.</li>
 * </ul>
 * Refill and give-back move several blocks per lock section, so a process that only
 * allocates a size (or only frees it, as the two ends of a channel passing blocks by offset
 * do) takes the buddy lock once per several blocks, not once per block.
 * A kill between a commit and the publication leaves the slot's published bytes one block (or
 * one flush) off until a survivor settles the dead slot, which gives the blocks back and zeroes
 * it.
 *
 * <p>Threads of the process share the cache through its {@link CacheLock}; no other process
 * ever waits for it. The buddy lock is taken inside it (refill, give-back), never the other way.
 */
public final class BuddyCache {
    /** The smallest order only the buddy serves: requests above 4096 B. */
    public static final int MIN_ORDER = 1;
    /** The largest cached order: 256 KiB. Above it one buddy lock section is small beside the use of the block. */
    public static final int MAX_ORDER = 6;
    /** At most this many blocks of one order stay cached. */
    public static final int BLOCKS_PER_ORDER = 16;
    /** A miss takes up to this many blocks of its order from the buddy in one lock section. */
    public static final int FILL_BLOCKS = 8;
    /** At most this many bytes stay cached in all, and at most 1/{@link #CAPACITY_SHARE} of the capacity. */
    public static final long MAX_BYTES = 8L << 20;
    public static final int CAPACITY_SHARE = 64;

    /** {@link #free} results. */
    public static final int CACHED = 0;
    public static final int NOT_LIVE = 1;
    public static final int NO_ROOM = 2;

    private final MappedMemory memory;
    private final HeapLayout layout;
    private final PageMap pages;
    private final BuddyAllocator buddy;
    private final HeapLocks locks;
    private final ProcessTable processTable;
    private final int slot;
    private final int owner;
    private final long token;
    private final byte holder;
    private final long byteBound;
    private final long[][] blocks = new long[MAX_ORDER + 1][BLOCKS_PER_ORDER];
    private final int[] counts = new int[MAX_ORDER + 1];
    private final CacheLock lock = new CacheLock();
    /** Bytes the last give-back returned to the buddy; guarded by {@link #lock}, like every field below. */
    private long givenBytes;
    /** Bytes cached. */
    private long bytes;
    /** Requests this cache served, less the blocks it took from the buddy (which counted those as buddy allocations). */
    private long hits;
    /** Frees this cache took, less the blocks it gave back to the buddy (which counted those as buddy frees). */
    private long frees;
    private final HeapLocks.Section returnAll = (a, b) -> giveBackLocked(MIN_ORDER, MAX_ORDER, 1);
    private final HeapLocks.Section returnOlderHalf = (from, to) -> giveBackLocked((int) from, (int) to, 2);
    private final HeapLocks.Section fill = (order, count) -> fillLocked((int) order, (int) count);

    /** @param slot this attachment's process-table slot, or -1 (a read-only observer): nothing is cached then */
    public BuddyCache(MappedMemory memory, HeapLayout layout, PageMap pages, BuddyAllocator buddy, HeapLocks locks,
                      ProcessTable processTable, int slot, long token, byte holder) {
        this.memory = memory;
        this.layout = layout;
        this.pages = pages;
        this.buddy = buddy;
        this.locks = locks;
        this.processTable = processTable;
        this.slot = slot;
        this.owner = slot + 1;
        this.token = token;
        this.holder = holder;
        this.byteBound = slot < 0 ? 0 : byteBound(layout.capacity());
    }

    /** The bytes one process may keep cached in a heap of {@code capacity}. */
    static long byteBound(long capacity) {
        return Math.min(MAX_BYTES, capacity / CAPACITY_SHARE);
    }

    /**
     * Whether any process may keep blocks of {@code order} in its cache in a heap of
     * {@code capacity}: only their frees can race a free under the buddy lock (see
     * {@link BuddyAllocator#freeUsed}).
     */
    static boolean cacheable(int order, long capacity) {
        return order >= MIN_ORDER && order <= MAX_ORDER && BuddyAllocator.blockBytes(order) <= byteBound(capacity);
    }

    /** Whether blocks of {@code order} may be cached by this attachment. */
    public boolean caches(int order) {
        return order >= MIN_ORDER && order <= MAX_ORDER && BuddyAllocator.blockBytes(order) <= byteBound;
    }

    /**
     * A cached block of {@code order} handed to the caller (USED, held by this process), or
     * {@link BuddyAllocator#NO_BLOCK} when none is cached.
     */
    public long allocate(int order) {
        lock.lock();
        try {
            return allocateLocked(order);
        } finally {
            lock.unlock();
        }
    }

    private long allocateLocked(int order) {
        int n = counts[order];
        if (n == 0) {
            n = refill(order);
            if (n == 0) {
                return BuddyAllocator.NO_BLOCK;
            }
        }
        long page = blocks[order][n - 1];
        counts[order] = n - 1;
        memory.putByteUnchecked(layout.holderLine(page), holder);
        pages.putWord1(page, token);
        pages.putWord0(page, PageMapEntry.word0(PageMapEntry.USED, order, 0, 0));
        publishBytes(bytes - BuddyAllocator.blockBytes(order));
        processTable.putCacheWord(slot, ProcessTable.CACHE_ALLOCATIONS, ++hits);
        return page;
    }

    /**
     * Keeps the USED block at {@code page}, whose head word the caller read as {@code usedWord0}
     * (a cacheable order), in this cache: {@link #CACHED}; {@link #NOT_LIVE} when another free
     * of the block won the CAS; {@link #NO_ROOM} (nothing changed) when a bound would be passed.
     */
    public int free(long page, long usedWord0) {
        lock.lock();
        try {
            return freeLocked(page, usedWord0);
        } finally {
            lock.unlock();
        }
    }

    private int freeLocked(long page, long usedWord0) {
        int order = PageMapEntry.order(usedWord0);
        long size = BuddyAllocator.blockBytes(order);
        if (counts[order] == BLOCKS_PER_ORDER) {
            giveBack(returnOlderHalf, order, order);
        } else if (bytes + size > byteBound) {
            giveBack(returnOlderHalf, MIN_ORDER, MAX_ORDER);
        }
        if (counts[order] == BLOCKS_PER_ORDER || bytes + size > byteBound) {
            return NO_ROOM;
        }
        if (!pages.compareAndSetWord0(page, usedWord0, PageMapEntry.cachedWord0(order, owner))) {
            return NOT_LIVE;
        }
        blocks[order][counts[order]++] = page;
        publishBytes(bytes + size);
        processTable.putCacheWord(slot, ProcessTable.CACHE_FREES, ++frees);
        return CACHED;
    }

    /** Gives every cached block back to the buddy (one buddy lock section); returns the bytes given back. */
    public long flush() {
        lock.lock();
        try {
            return bytes == 0 ? 0 : giveBack(returnAll, MIN_ORDER, MAX_ORDER);
        } finally {
            lock.unlock();
        }
    }

    /**
     * A miss: takes the block the request needs plus up to {@link #FILL_BLOCKS} - 1 more that the
     * bounds leave room for, into the cache in one buddy lock section; returns how many blocks of
     * {@code order} it then holds.
     */
    private int refill(int order) {
        long size = BuddyAllocator.blockBytes(order);
        // at most half the room the byte bound leaves, so that the frees that follow fit
        long extra = Math.min(Math.min(FILL_BLOCKS, BLOCKS_PER_ORDER - counts[order]) - 1, (byteBound - bytes) / size / 2);
        int taken = (int) locks.inBuddy(order, 1 + Math.max(0, extra), fill);
        if (taken > 0) {
            publishBytes(bytes + taken * size);
            hits -= taken; // the buddy counted them as allocations; only the one handed out is a request
            processTable.putCacheWord(slot, ProcessTable.CACHE_ALLOCATIONS, hits);
        }
        return counts[order];
    }

    /** Under the buddy lock: up to {@code count} blocks of {@code order} committed CACHED and pushed; returns how many. */
    private long fillLocked(int order, int count) {
        int taken = 0;
        while (taken < count) {
            long page = buddy.allocateCached(order, owner);
            if (page == BuddyAllocator.NO_BLOCK) {
                break;
            }
            blocks[order][counts[order]++] = page;
            taken++;
        }
        return taken;
    }

    /** Runs a give-back section over orders {@code from..to}, publishes what is left; returns the bytes given back. */
    private long giveBack(HeapLocks.Section section, int from, int to) {
        givenBytes = 0;
        long given = locks.inBuddy(from, to, section);
        long remaining = 0;
        for (int order = MIN_ORDER; order <= MAX_ORDER; order++) {
            remaining += counts[order] * BuddyAllocator.blockBytes(order);
        }
        publishBytes(remaining);
        frees -= given;
        processTable.putCacheWord(slot, ProcessTable.CACHE_FREES, frees);
        return givenBytes;
    }

    /**
     * Before the slot is freed ({@code close}): flushes, then moves the two counts into the
     * header's lifetime counters and zeroes them in the slot. A kill between the fold and the
     * zeroing counts them twice in {@code stats()}; nothing else reads them.
     */
    public void close() {
        if (slot < 0) {
            return;
        }
        flush();
        lock.lock();
        try {
            fold(memory, hits, frees);
            hits = 0;
            frees = 0;
            processTable.putCacheWord(slot, ProcessTable.CACHE_ALLOCATIONS, 0);
            processTable.putCacheWord(slot, ProcessTable.CACHE_FREES, 0);
        } finally {
            lock.unlock();
        }
    }

    /** Adds a settled or closed slot's counts to the header's lifetime counters. */
    static void fold(MappedMemory memory, long hits, long frees) {
        if (hits != 0) {
            Counters.addAtomic(memory, HeaderDescriptor.CACHE_ALLOCATIONS_OFFSET, hits);
        }
        if (frees != 0) {
            Counters.addAtomic(memory, HeaderDescriptor.CACHE_FREES_OFFSET, frees);
        }
    }

    /**
     * Under the buddy lock: gives back the older {@code 1/divisor} (rounded up) of each stack of
     * orders {@code from..to} (the bottom of the stack: the blocks freed longest ago), all of it
     * with divisor 1; returns how many blocks, and adds their bytes to {@link #givenBytes}. A block
     * found no longer CACHED by this process is dropped from the stack without a change: only a
     * survivor that took this process for dead gives a cached block back for it, exactly once.
     */
    private long giveBackLocked(int from, int to, int divisor) {
        long given = 0;
        for (int order = from; order <= to; order++) {
            int n = counts[order];
            int k = (n + divisor - 1) / divisor; // a lone block goes too
            long[] stack = blocks[order];
            for (int i = 0; i < k; i++) {
                if (buddy.freeCached(stack[i], order, owner)) {
                    given++;
                    givenBytes += BuddyAllocator.blockBytes(order);
                }
            }
            System.arraycopy(stack, k, stack, 0, n - k);
            counts[order] = n - k;
        }
        return given;
    }

    private void publishBytes(long cachedBytes) {
        bytes = cachedBytes;
        processTable.putCacheWord(slot, ProcessTable.CACHED_BYTES, cachedBytes);
    }
}
