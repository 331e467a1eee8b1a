package dev.shmheap.internal.buddy;

import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.lock.HeapLocks;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.pagemap.PageMap;
import dev.shmheap.internal.pagemap.PageMapWalker;

import java.util.Arrays;

/**
 * Gives the buddy caches of processes that no longer run back to the buddy, whether or not the
 * heap reclaims dead processes' blocks: a cached block holds no user data. One walk finds the
 * CACHED heads whose owner field names a dead slot (a dead owner changes nothing, so each stays
 * as found until someone gives it back); one buddy lock section gives each back if it is still
 * CACHED by that owner, so two survivors settling the same slot give each block back once.
 * Then each dead slot's cache words go to 0, each by a CAS from the value read before the walk
 * (so that a late survivor cannot zero the words of a process that claimed the slot since), and
 * the counts a CAS took move into the header's lifetime counters; the frees less the blocks
 * this call gave back, which the buddy counted as frees.
 */
public final class DeadCaches {
    private final MappedMemory memory;
    private final HeapLayout layout;
    private final PageMap pages;
    private final BuddyAllocator buddy;
    private final HeapLocks locks;
    private final ProcessTable processTable;

    public DeadCaches(MappedMemory memory, HeapLayout layout, PageMap pages, BuddyAllocator buddy, HeapLocks locks, ProcessTable processTable) {
        this.memory = memory;
        this.layout = layout;
        this.pages = pages;
        this.buddy = buddy;
        this.locks = locks;
        this.processTable = processTable;
    }

    /**
     * Gives back the cached blocks of every slot {@code s} with {@code deadTokens[s] != 0};
     * returns the bytes given back by this call.
     */
    public long giveBack(long[] deadTokens) {
        long[][] published = new long[ProcessTable.SLOT_COUNT][];
        for (int slot = 0; slot < ProcessTable.SLOT_COUNT; slot++) {
            if (deadTokens[slot] != 0) {
                published[slot] = new long[] {processTable.cacheWord(slot, ProcessTable.CACHED_BYTES),
                        processTable.cacheWord(slot, ProcessTable.CACHE_ALLOCATIONS), processTable.cacheWord(slot, ProcessTable.CACHE_FREES)};
            }
        }
        Found found = new Found();
        PageMapWalker.walk(pages, layout, (page, word0, word1) -> {
            int owner = PageMapEntry.owner(word0);
            if (PageMapEntry.kind(word0) == PageMapEntry.CACHED && owner <= ProcessTable.SLOT_COUNT && deadTokens[owner - 1] != 0) {
                found.add(page, word0);
            }
            return true;
        }, problem -> {
            // a concurrent split or merge, or corruption verify reports: skip a page
        });
        long given = found.size == 0 ? 0 : locks.inBuddy(0, 0, (a, b) -> found.giveBack(buddy));
        for (int slot = 0; slot < ProcessTable.SLOT_COUNT; slot++) {
            if (published[slot] != null) {
                settleWords(slot, published[slot], found.blocksGiven[slot]);
            }
        }
        return given;
    }

    private void settleWords(int slot, long[] published, long blocksGiven) {
        if (published[0] != 0) {
            processTable.compareAndSetCacheWord(slot, ProcessTable.CACHED_BYTES, published[0], 0);
        }
        long hits = published[1] != 0 && processTable.compareAndSetCacheWord(slot, ProcessTable.CACHE_ALLOCATIONS, published[1], 0)
                ? published[1] : 0;
        long frees = published[2] != 0 && processTable.compareAndSetCacheWord(slot, ProcessTable.CACHE_FREES, published[2], 0)
                ? published[2] : 0;
        BuddyCache.fold(memory, hits, frees - blocksGiven);
    }

    /** The CACHED heads of dead owners, as found by the walk. */
    private static final class Found {
        long[] heads = new long[16];
        int size;
        final long[] blocksGiven = new long[ProcessTable.SLOT_COUNT];

        void add(long page, long word0) {
            if (size == heads.length) {
                heads = Arrays.copyOf(heads, size * 2);
            }
            heads[size++] = page;
            heads[size++] = word0;
        }

        /** Under the buddy lock. */
        long giveBack(BuddyAllocator buddy) {
            long bytes = 0;
            for (int i = 0; i < size; i += 2) {
                int order = PageMapEntry.order(heads[i + 1]);
                int owner = PageMapEntry.owner(heads[i + 1]);
                if (buddy.freeCached(heads[i], order, owner)) {
                    bytes += BuddyAllocator.blockBytes(order);
                    blocksGiven[owner - 1]++;
                }
            }
            return bytes;
        }
    }
}
