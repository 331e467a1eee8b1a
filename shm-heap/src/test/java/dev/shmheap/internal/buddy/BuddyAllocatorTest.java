package dev.shmheap.internal.buddy;

import dev.shmheap.VerifyReport;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.testkit.BareHeap;
import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static dev.shmheap.internal.layout.HeaderDescriptor.*;
import static dev.shmheap.internal.layout.PageMapEntry.FREE;
import static dev.shmheap.internal.layout.PageMapEntry.SLAB;
import static dev.shmheap.internal.layout.PageMapEntry.USED;
import static org.junit.jupiter.api.Assertions.*;

/** {@link BuddyAllocator} on a bare mapping: split, deferred merge, coalesce, rebuild, sets, and its counters. */
class BuddyAllocatorTest {
    private static final long PAGE = 4096;
    private static final long MIB = 1 << 20;

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    private BareHeap heap;

    private BareHeap heap(long capacity) throws IOException {
        heap = BareHeap.create(heaps.newPath("buddy"), capacity);
        return heap;
    }

    @AfterEach
    void unmap() throws IOException {
        if (heap != null) {
            heap.close();
        }
    }

    private void assertFreeBlock(long page, int order) {
        long word0 = heap.pages.word0(page);
        assertEquals(FREE, PageMapEntry.kind(word0), "page " + page + ": " + PageMapEntry.toString(word0));
        assertEquals(order, PageMapEntry.order(word0), "page " + page + ": " + PageMapEntry.toString(word0));
    }

    private void assertVerifies() {
        VerifyReport report = heap.verify();
        assertTrue(report.ok(), report.toString());
    }

    @Test
    void shouldLayOutTheDataRegionAsFreeBlocksLargestFirst() throws IOException {
        heap(25 * PAGE); // 25 pages: orders 4, 3 and 0 (docs/FORMAT.md, buddy blocks)
        assertFreeBlock(0, 4);
        assertFreeBlock(16, 3);
        assertFreeBlock(24, 0);
        assertEquals(1, heap.header(freeCountOffset(4)));
        assertEquals(1, heap.header(freeCountOffset(3)));
        assertEquals(1, heap.header(freeCountOffset(0)));
        assertEquals(25 * PAGE, heap.header(BUDDY_FREE_BYTES_OFFSET));
        assertEquals(0, heap.header(BUDDY_ALLOCATED_BYTES_OFFSET));
        assertVerifies();
    }

    @Test
    void shouldSplitDownToTheRequestedOrderLeavingOneFreeHalfPerOrder() throws IOException {
        heap(MIB);
        long page = heap.buddy.allocate(0, heap.token, BareHeap.HOLDER);
        assertEquals(0, page, "the lowest block of the smallest order that fits");
        long word0 = heap.pages.word0(0);
        assertEquals(USED, PageMapEntry.kind(word0));
        assertEquals(heap.token, heap.pages.word1(0), "word 1 of a USED head is the allocating token");
        assertEquals(BareHeap.HOLDER, heap.memory.getByte(heap.layout.holderLine(0)), "the holder byte is stored with the block");
        for (int order = 0; order < 8; order++) {
            assertFreeBlock(1L << order, order);
            assertEquals(1, heap.header(freeCountOffset(order)), "order " + order);
        }
        assertEquals(0, heap.header(freeCountOffset(8)), "the one order-8 block was split");
        assertEquals(MIB - PAGE, heap.header(BUDDY_FREE_BYTES_OFFSET));
        assertEquals(PAGE, heap.header(BUDDY_ALLOCATED_BYTES_OFFSET));
        assertEquals(1, heap.header(BUDDY_ALLOCATIONS_OFFSET));
        assertVerifies();
    }

    @Test
    void shouldFreeWithoutMergingAndCountTheMergeablePair() throws IOException {
        heap(MIB);
        long a = heap.buddy.allocate(0, heap.token, BareHeap.HOLDER);
        long b = heap.buddy.allocate(0, heap.token, BareHeap.HOLDER);
        assertEquals(a ^ 1, b, "the two halves of one order-1 block");
        freeUsed(a);
        freeUsed(b);
        assertFreeBlock(a, 0);
        assertFreeBlock(b, 0);
        assertEquals(1, heap.header(BUDDY_MERGEABLE_PAIRS_OFFSET), "two FREE buddies of one order count once");
        assertTrue(heap.buddy.hasFreeBuddy(a, 0));
        assertEquals(MIB, heap.header(BUDDY_FREE_BYTES_OFFSET));
        assertEquals(2, heap.header(BUDDY_FREES_OFFSET));
        assertVerifies();
    }

    @Test
    void shouldReuseTheFreedBlockAsItIs() throws IOException {
        heap(MIB);
        long a = heap.buddy.allocate(0, heap.token, BareHeap.HOLDER);
        freeUsed(a);
        assertEquals(a, heap.buddy.allocate(0, heap.token, BareHeap.HOLDER), "the order-0 list's head, no split from the top");
        assertVerifies();
    }

    @Test
    void shouldCoalesceWhenNoListedBlockIsLargeEnough() throws IOException {
        heap(MIB);
        List<Long> all = new ArrayList<>();
        for (long page; (page = heap.buddy.allocate(0, heap.token, BareHeap.HOLDER)) != BuddyAllocator.NO_BLOCK; ) {
            all.add(page);
        }
        assertEquals(256, all.size(), "every page of a 1 MiB heap");
        all.forEach(this::freeUsed);
        assertEquals(128, heap.header(BUDDY_MERGEABLE_PAIRS_OFFSET));
        assertEquals(256, heap.header(freeCountOffset(0)), "nothing merged on free");

        assertEquals(0, heap.buddy.allocate(8, heap.token, BareHeap.HOLDER), "the whole heap, after merging every pair");
        assertEquals(0, heap.header(BUDDY_MERGEABLE_PAIRS_OFFSET));
        assertEquals(0, heap.header(freeCountOffset(0)));
        assertVerifies();
    }

    @Test
    void shouldReturnNoBlockAndChangeNothingWhenNothingFits() throws IOException {
        heap(MIB);
        assertNotEquals(BuddyAllocator.NO_BLOCK, heap.buddy.allocate(7, heap.token, BareHeap.HOLDER));
        long freeBytes = heap.header(BUDDY_FREE_BYTES_OFFSET);
        assertEquals(BuddyAllocator.NO_BLOCK, heap.buddy.allocate(8, heap.token, BareHeap.HOLDER));
        assertEquals(BuddyAllocator.NO_BLOCK, heap.buddy.allocate(heap.layout.maxOrder() + 1, heap.token, BareHeap.HOLDER),
                "an order above the largest block");
        assertEquals(freeBytes, heap.header(BUDDY_FREE_BYTES_OFFSET));
        assertEquals(1, heap.header(BUDDY_ALLOCATIONS_OFFSET));
        assertVerifies();
    }

    @Test
    void shouldRefuseToFreeAFreeBlock() throws IOException {
        heap(MIB);
        long page = heap.buddy.allocate(2, heap.token, BareHeap.HOLDER);
        freeUsed(page);
        long frees = heap.header(BUDDY_FREES_OFFSET);
        assertFalse(heap.buddy.freeUsed(page), "a FREE head is no USED block to free");
        assertEquals(frees, heap.header(BUDDY_FREES_OFFSET), "the refused free changed nothing");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> heap.buddy.free(page));
        assertTrue(e.getMessage().startsWith("page " + page + " is FREE"), e.getMessage());
        assertVerifies();
    }

    @Test
    void shouldCommitASetGroupAsEmptyUnlinkedHeadsOfOneStripe() throws IOException {
        heap(MIB);
        long page = heap.buddy.allocateSets(0, 1, 2);
        for (long k = 0; k < 4; k++) {
            long word0 = heap.pages.word0(page + k);
            assertEquals(SLAB, PageMapEntry.kind(word0), "set " + k);
            assertEquals(0, PageMapEntry.sizeClass(word0));
            assertEquals(1, PageMapEntry.stripe(word0));
            assertEquals(0, PageMapEntry.link(word0), "on no partial list yet");
            assertEquals(0, heap.pages.word1(page + k), "empty");
        }
        assertEquals(4 * PAGE, heap.header(BUDDY_SET_BYTES_OFFSET));
        assertEquals(4, heap.header(BUDDY_ALLOCATIONS_OFFSET), "each set goes back on its own");
        heap.buddy.free(page + 3);
        assertEquals(3 * PAGE, heap.header(BUDDY_SET_BYTES_OFFSET), "an empty set goes back to the buddy");
        assertFreeBlock(page + 3, 0);
    }

    @Test
    void shouldRebuildListsAndCountersFromThePageMap() throws IOException {
        heap(MIB);
        long a = heap.buddy.allocate(0, heap.token, BareHeap.HOLDER);
        long b = heap.buddy.allocate(0, heap.token, BareHeap.HOLDER);
        long c = heap.buddy.allocate(3, heap.token, BareHeap.HOLDER);
        freeUsed(a);
        freeUsed(b);
        for (int order = 0; order < ORDER_COUNT; order++) {
            heap.memory.putLong(freeListHeadOffset(order), 0);
            heap.memory.putLong(freeCountOffset(order), 0);
        }
        heap.memory.putLong(BUDDY_FREE_BYTES_OFFSET, 12345);
        assertFalse(heap.verify().ok(), "the caches disagree with the page map");

        heap.buddy.rebuild();
        assertVerifies();
        assertEquals(MIB - (8 * PAGE), heap.header(BUDDY_FREE_BYTES_OFFSET), "only the order-3 block is handed out");
        assertEquals(0, heap.header(BUDDY_MERGEABLE_PAIRS_OFFSET), "the rebuild merges every pair");
        assertFreeBlock(0, 3); // pages 0 and 1 merged, then with the free halves 2..3 and 4..7 left by the splits
        assertEquals(USED, PageMapEntry.kind(heap.pages.word0(c)));
    }

    @Test
    void shouldSizeOrdersInWholePages() {
        assertEquals(0, BuddyAllocator.orderFor(1));
        assertEquals(0, BuddyAllocator.orderFor(PAGE));
        assertEquals(1, BuddyAllocator.orderFor(PAGE + 1));
        assertEquals(1, BuddyAllocator.orderFor(2 * PAGE));
        assertEquals(2, BuddyAllocator.orderFor(2 * PAGE + 1));
        assertEquals(PAGE << 5, BuddyAllocator.blockBytes(5));
    }

    /** Frees a USED block the test allocated: the buddy must accept it. */
    private void freeUsed(long page) {
        assertTrue(heap.buddy.freeUsed(page), "page " + page + " was a USED head");
    }
}
