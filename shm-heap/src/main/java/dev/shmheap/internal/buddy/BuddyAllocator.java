package dev.shmheap.internal.buddy;

import dev.shmheap.HeapCorruptedException;
import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.HolderMap;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.memory.Counters;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.pagemap.ExtentReservations;
import dev.shmheap.internal.pagemap.PageMap;
import dev.shmheap.internal.pagemap.PageMapWalker;

import static dev.shmheap.internal.layout.PageMapEntry.FREE;
import static dev.shmheap.internal.layout.PageMapEntry.USED;

/**
 * The buddy allocator over the data region: blocks of {@code 4 KiB << order}, each at a page
 * index that is a multiple of {@code 2^order}, split on allocate. It knows nothing of locking:
 * every method expects the caller to hold the buddy lock.
 *
 * <p>Merging is deferred: {@link #free} puts the block on its order's list as it is, so an
 * allocate+free loop of one size reuses the same block at a cost that does not grow with the
 * capacity (merging at once would split from the top order and merge back up on every
 * iteration of a lone block). The header counts the <em>mergeable pairs</em>, FREE blocks of
 * one order whose buddy ({@code page ^ 2^order}) is FREE of that order too; when a request
 * finds no block large enough and that count is not zero, {@link #coalesce()} merges them all
 * and the request is tried again, so a request fails only when no merge could serve it.
 *
 * <p>Truth and caches: the page map's head entries are the truth; the per-order free lists,
 * doubly linked through the entries (word 0 link = next, word 1 = previous), are a cache that
 * {@link #rebuild()} recreates from a walk. Each step writes the entry that is not yet
 * reachable first and commits with one store to the reachable head, so a walk always sees a
 * partition of the data region:
 * <ul>
 *   <li>split of {@code p} (order k) into halves: write the upper half {@code p + 2^(k-1)} as
 *       FREE(k-1), then commit {@code p} as order k-1;</li>
 *   <li>merge of {@code p} with its free buddy {@code b}: commit the lower one as FREE(k+1),
 *       then clear the upper one's entry.</li>
 * </ul>
 *
 * <p>Counters (under the same lock): {@code free bytes + allocated bytes == capacity}, where
 * allocated bytes include the blocks that back slab sets, and {@code set bytes} counts those;
 * {@code mergeable pairs == |{ FREE p of order k : p < buddy, buddy FREE of order k }|}.
 */
public final class BuddyAllocator {
    public static final long NO_BLOCK = -1;

    private final MappedMemory memory;
    private final HeapLayout layout;
    private final PageMap pages;
    private final ExtentReservations reservations;

    public BuddyAllocator(MappedMemory memory, HeapLayout layout, PageMap pages) {
        this.memory = memory;
        this.layout = layout;
        this.pages = pages;
        this.reservations = pages.reservations();
    }

    /**
     * Lays the whole data region out as free blocks, largest first; returns false when a
     * sparse heap cannot reserve the page-map slices of their heads.
     */
    public boolean initialize() {
        long page = 0;
        long remaining = layout.pageCount();
        for (int order = layout.maxOrder(); order >= 0; order--) {
            if ((remaining & (1L << order)) != 0) {
                if (!reservations.reservePageMap(page)) {
                    return false;
                }
                pushFree(page, order);
                page += 1L << order;
            }
        }
        remaining = layout.capacity();
        memory.putLong(HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET, remaining);
        memory.putLong(HeaderDescriptor.BUDDY_ALLOCATED_BYTES_OFFSET, 0);
        memory.putLong(HeaderDescriptor.BUDDY_SET_BYTES_OFFSET, 0);
        memory.putLong(HeaderDescriptor.BUDDY_MERGEABLE_PAIRS_OFFSET, 0);
        return true;
    }

    public static long blockBytes(int order) {
        return (long) SizeClasses.PAGE_SIZE << order;
    }

    /** The smallest order whose blocks hold {@code bytes}. */
    public static int orderFor(long bytes) {
        long pagesNeeded = (bytes + SizeClasses.PAGE_SIZE - 1) >>> SizeClasses.PAGE_SHIFT;
        return pagesNeeded <= 1 ? 0 : 64 - Long.numberOfLeadingZeros(pagesNeeded - 1);
    }

    /**
     * Takes a block of {@code order}, marks it USED by {@code owner} and returns its first
     * page, or {@link #NO_BLOCK} when no free block is large enough or backing store could not
     * be reserved (nothing is changed then).
     */
    public long allocate(int order, long owner, byte holder) {
        return take(order, owner, PageMapEntry.word0(USED, order, 0, 0), holder);
    }

    /**
     * Takes a block of {@code order} straight into the buddy cache of owner field
     * {@code owner}: committed CACHED (one store), so a process killed before its cache records
     * it leaves a block its settle gives back. Returns its first page or {@link #NO_BLOCK}.
     */
    public long allocateCached(int order, int owner) {
        return take(order, 0, PageMapEntry.cachedWord0(order, owner), HolderMap.UNATTRIBUTED);
    }

    /**
     * Takes a block of {@code 2^groupOrder} pages for slab sets of class {@code sizeClass},
     * stripe {@code stripe}, and commits it directly as empty, unlinked set heads, so that a
     * process killed before the slab layer finishes the sets leaves sets its class rebuild
     * completes, not a USED block nobody owns. With {@code groupOrder} above the set order the
     * block holds several sets: the later ones' heads are written first, while the block's
     * head still says FREE and the walk skips them; the head's store commits them all. Each
     * set counts as one buddy allocation, since each goes back on its own.
     */
    public long allocateSets(int sizeClass, int stripe, int groupOrder) {
        return take(groupOrder, 0, PageMapEntry.slabWord0(PageMapEntry.SLAB, sizeClass, stripe, 0), HolderMap.UNATTRIBUTED);
    }

    private long take(int order, long commitWord1, long commitWord0, byte holder) {
        reservations.clearFailure();
        if (order > layout.maxOrder()) {
            return NO_BLOCK;
        }
        int found = smallestFreeOrder(order);
        if (found < 0 && memory.getLong(HeaderDescriptor.BUDDY_MERGEABLE_PAIRS_OFFSET) != 0) {
            coalesce();
            found = smallestFreeOrder(order);
        }
        if (found < 0) {
            return NO_BLOCK;
        }
        long page = pages.pageOfLink(memory.getLong(HeaderDescriptor.freeListHeadOffset(found)), "free-list head of order", found);
        expectFree(page, found, "free-list head of order", found);
        for (int k = order; k < found; k++) {
            if (!reservations.reservePageMap(page + (1L << k))) {
                return NO_BLOCK;
            }
        }
        if (!reservations.reserveData(page, 1L << order)) {
            return NO_BLOCK;
        }
        unlink(page, found);
        while (found > order) {
            found--;
            pushFree(page + (1L << found), found);
            pages.putWord0(page, PageMapEntry.word0(FREE, found, 0, 0));
        }
        // a group of slab sets: every set but the first gets its head before the commit
        int headOrder = PageMapEntry.order(commitWord0);
        long blocks = 1L << (order - headOrder);
        for (long k = blocks - 1; k > 0; k--) {
            pages.putWord1(page + (k << headOrder), 0);
            pages.putWord0(page + (k << headOrder), commitWord0);
        }
        pages.putWord1(page, commitWord1);
        if (PageMapEntry.kind(commitWord0) == USED) {
            memory.putByteUnchecked(layout.holderLine(page), holder); // before the commit, like word 1
        }
        pages.putWord0(page, commitWord0);
        long bytes = blockBytes(order);
        if (PageMapEntry.kind(commitWord0) == PageMapEntry.SLAB) {
            addCounter(HeaderDescriptor.BUDDY_SET_BYTES_OFFSET, bytes);
        }
        addCounter(HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET, -bytes);
        addCounter(HeaderDescriptor.BUDDY_ALLOCATED_BYTES_OFFSET, bytes);
        addCounter(HeaderDescriptor.BUDDY_ALLOCATIONS_OFFSET, blocks);
        return page;
    }

    /** The smallest order from {@code order} up whose free list is not empty, or -1. */
    private int smallestFreeOrder(int order) {
        for (int k = order; k <= layout.maxOrder(); k++) {
            if (memory.getLong(HeaderDescriptor.freeListHeadOffset(k)) != 0) {
                return k;
            }
        }
        return -1;
    }

    /**
     * Returns an empty slab set whose other pages the slab layer already cleared, without
     * merging (see the class comment): one store turns the head FREE and links it.
     */
    public void free(long page) {
        long word0 = pages.word0(page);
        if (PageMapEntry.kind(word0) != PageMapEntry.SLAB || pages.word1(page) != 0) {
            throw new IllegalStateException("page " + page + " is " + PageMapEntry.toString(word0) + ", not an empty set");
        }
        addCounter(HeaderDescriptor.BUDDY_SET_BYTES_OFFSET, -blockBytes(PageMapEntry.order(word0)));
        pushFree(page, PageMapEntry.order(word0));
        countFree(page, PageMapEntry.order(word0));
    }

    /**
     * Frees the USED block whose head is {@code page}, without merging. Returns false, changing
     * nothing, when {@code page} is not a USED head, or when a free outside this lock (a
     * process caching the block, see {@code BuddyCache}) claimed it first: for an order a
     * buddy cache may hold, the commit is a CAS from the USED word read, so of two frees of one
     * block exactly one wins; larger blocks change only under this lock and keep the store.
     */
    public boolean freeUsed(long page) {
        long word0 = pages.word0(page);
        if (PageMapEntry.kind(word0) != USED) {
            return false;
        }
        int order = PageMapEntry.order(word0);
        if (BuddyCache.cacheable(order, layout.capacity())) {
            return claimFree(page, word0);
        }
        pushFree(page, order);
        countFree(page, order);
        return true;
    }

    /**
     * Gives back a block of {@code order} that the cache of owner field {@code owner} holds
     * (CACHED head). Returns false, changing nothing, when the head is not that: another
     * survivor gave it back already. Only the owner calls it while the owner lives.
     */
    public boolean freeCached(long page, int order, int owner) {
        long word0 = pages.word0(page);
        return word0 == PageMapEntry.cachedWord0(order, owner) && claimFree(page, word0);
    }

    private boolean claimFree(long page, long word0) {
        int order = PageMapEntry.order(word0);
        if (!pushFree(page, order, word0)) {
            return false;
        }
        countFree(page, order);
        return true;
    }

    /** The counters of a block of {@code order} at {@code page} that just went on its free list. */
    private void countFree(long page, int order) {
        long bytes = blockBytes(order);
        if (hasFreeBuddy(page, order)) {
            addCounter(HeaderDescriptor.BUDDY_MERGEABLE_PAIRS_OFFSET, 1);
        }
        addCounter(HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET, bytes);
        addCounter(HeaderDescriptor.BUDDY_ALLOCATED_BYTES_OFFSET, -bytes);
        addCounter(HeaderDescriptor.BUDDY_FREES_OFFSET, 1);
    }

    /** Whether the buddy of the block of {@code order} at {@code page} exists and is FREE of the same order. */
    public boolean hasFreeBuddy(long page, int order) {
        if (order >= layout.maxOrder()) {
            return false;
        }
        long buddy = page ^ (1L << order);
        if (buddy + (1L << order) > layout.pageCount()) {
            return false;
        }
        long word0 = pages.word0(buddy);
        return PageMapEntry.kind(word0) == FREE && PageMapEntry.order(word0) == order;
    }

    /**
     * Merges every pair of free buddies, all the way up, and relinks the lists: what a
     * request that found no block large enough does before it gives up, and what {@code trim}
     * does. It is {@link #rebuild()}, whose walk merges on its way.
     */
    public void coalesce() {
        rebuild();
    }

    /** Pushes the block at {@code page} on its order's free list, writing its entry as FREE. */
    private void pushFree(long page, int order) {
        pushFree(page, order, NO_CLAIM);
    }

    /** {@link #pushFree(long, int, long)} without a claim: the caller owns the entry under this lock. */
    private static final long NO_CLAIM = -1;

    /**
     * Pushes the block at {@code page} on its order's free list. With {@code claimFrom} other
     * than {@link #NO_CLAIM}, the head's commit is a CAS from that word (a USED or CACHED head
     * another process may free or cache at the same moment), and false means nothing changed.
     * Word 1 (the previous link, 0 at the list head) follows the commit then: a kill between
     * leaves a FREE head with a stale word 1 while this lock is held, which the takeover's
     * rebuild relinks.
     */
    private boolean pushFree(long page, int order, long claimFrom) {
        long headOffset = HeaderDescriptor.freeListHeadOffset(order);
        long oldHead = memory.getLong(headOffset);
        long next = -1;
        if (oldHead != 0) {
            next = pages.pageOfLink(oldHead, "free-list head of order", order);
            expectFree(next, order, "free-list head of order", order);
        }
        long freeWord = PageMapEntry.word0(FREE, order, 0, oldHead);
        if (claimFrom == NO_CLAIM) {
            pages.putWord1(page, 0);
            pages.putWord0(page, freeWord);
        } else {
            if (!pages.compareAndSetWord0(page, claimFrom, freeWord)) {
                return false;
            }
            pages.putWord1(page, 0);
        }
        if (next >= 0) {
            pages.putWord1(next, page + 1);
        }
        memory.putLongRelease(headOffset, page + 1);
        addCounter(HeaderDescriptor.freeCountOffset(order), 1);
        return true;
    }

    /**
     * Removes a free block from its list to hand it out or split it; checks both neighbours
     * before the first store, and counts the pair it leaves, if it had a free buddy.
     */
    private void unlink(long page, int order) {
        long word0 = pages.word0(page);
        long next = PageMapEntry.link(word0);
        long prev = pages.word1(page);
        long headOffset = HeaderDescriptor.freeListHeadOffset(order);
        long prevPage = -1;
        long nextPage = -1;
        if (prev == 0) {
            if (memory.getLong(headOffset) != page + 1) {
                throw brokenList(page, order, -1);
            }
        } else {
            prevPage = pages.pageOfLink(prev, "previous link of the free block at page", page);
            expectFree(prevPage, order, "predecessor of the free block at page", page);
            if (PageMapEntry.link(pages.word0(prevPage)) != page + 1) {
                throw brokenList(page, order, prevPage);
            }
        }
        if (next != 0) {
            nextPage = pages.pageOfLink(next, "next link of the free block at page", page);
            expectFree(nextPage, order, "successor of the free block at page", page);
        }
        if (prevPage < 0) {
            memory.putLongRelease(headOffset, next);
        } else {
            pages.putWord0(prevPage, PageMapEntry.withLink(pages.word0(prevPage), next));
        }
        if (nextPage >= 0) {
            pages.putWord1(nextPage, prev);
        }
        pages.putWord0(page, PageMapEntry.word0(FREE, order, 0, 0));
        pages.putWord1(page, 0);
        addCounter(HeaderDescriptor.freeCountOffset(order), -1);
        if (hasFreeBuddy(page, order)) {
            addCounter(HeaderDescriptor.BUDDY_MERGEABLE_PAIRS_OFFSET, -1);
        }
    }

    private static HeapCorruptedException brokenList(long page, int order, long prevPage) {
        return new HeapCorruptedException(prevPage < 0
                ? "free block at page " + page + " (order " + order + ") has no predecessor but is not the head of its free list"
                : "free block at page " + page + " (order " + order + "): its predecessor at page " + prevPage + " does not link to it");
    }

    /** Checks that {@code page} heads a FREE block of {@code order}; {@code what + " " + index} says where it was reached from. */
    private void expectFree(long page, int order, String what, long index) {
        long word0 = pages.word0(page);
        if (PageMapEntry.kind(word0) != FREE || PageMapEntry.order(word0) != order) {
            throw notFree(page, word0, order, what, index);
        }
    }

    /** Built apart from {@link #expectFree} so that the check, on every split and merge, stays small enough to inline. */
    private static HeapCorruptedException notFree(long page, long word0, int order, String what, long index) {
        return new HeapCorruptedException(what + " " + index + ": page " + page + " is " + PageMapEntry.toString(word0)
                + ", expected a FREE block of order " + order);
    }

    private void addCounter(long offset, long delta) {
        Counters.add(memory, offset, delta);
    }

    /**
     * Recreates the free lists and counters from the page map, after a process died holding
     * the buddy lock, and merges every pair of free buddies on the way (deferred merges, and
     * merges a dead process left undone): the walk visits blocks in address order, so a
     * block's free lower buddy, if any, is the last free block kept so far. The pair count is
     * zeroed last, so a kill before it leaves a count that makes the next request merge again.
     * Returns the number of free blocks relinked.
     */
    public long rebuild() {
        for (int order = 0; order < HeaderDescriptor.ORDER_COUNT; order++) {
            memory.putLong(HeaderDescriptor.freeListHeadOffset(order), 0);
            memory.putLong(HeaderDescriptor.freeCountOffset(order), 0);
        }
        long[] freeBytes = {0};
        long[] setBytes = {0};
        long[] allocatedBlocks = {0};
        FreeBlockStack free = new FreeBlockStack();
        PageMapWalker.walk(pages, layout, (page, word0, word1) -> {
            if (PageMapEntry.kind(word0) == FREE) {
                long block = page;
                int order = PageMapEntry.order(word0);
                freeBytes[0] += blockBytes(order);
                while (order < layout.maxOrder() && free.topIs(block ^ (1L << order), order) && (block & (1L << order)) != 0) {
                    long low = free.pop();
                    pages.putWord0(low, PageMapEntry.word0(FREE, order + 1, 0, 0));
                    pages.putWord0(block, 0);
                    pages.putWord1(block, 0);
                    block = low;
                    order++;
                }
                free.push(block, order);
            } else {
                allocatedBlocks[0]++;
                if (PageMapEntry.kind(word0) == PageMapEntry.SLAB) {
                    setBytes[0] += blockBytes(PageMapEntry.order(word0));
                }
            }
            return true;
        }, problem -> {
            throw new HeapCorruptedException("cannot rebuild the free lists: " + problem);
        });
        for (int i = 0; i < free.size; i++) {
            pushFree(free.pages[i], free.orders[i]);
        }
        memory.putLong(HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET, freeBytes[0]);
        memory.putLong(HeaderDescriptor.BUDDY_ALLOCATED_BYTES_OFFSET, layout.capacity() - freeBytes[0]);
        memory.putLong(HeaderDescriptor.BUDDY_SET_BYTES_OFFSET, setBytes[0]);
        Counters.restoreFrees(memory, HeaderDescriptor.BUDDY_ALLOCATIONS_OFFSET, HeaderDescriptor.BUDDY_FREES_OFFSET, allocatedBlocks[0]);
        memory.putLong(HeaderDescriptor.BUDDY_MERGEABLE_PAIRS_OFFSET, 0);
        return free.size;
    }
}
