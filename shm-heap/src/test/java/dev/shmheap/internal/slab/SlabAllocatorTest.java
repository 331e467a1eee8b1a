package dev.shmheap.internal.slab;

import dev.shmheap.VerifyReport;
import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.testkit.BareHeap;
import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static dev.shmheap.internal.layout.HeaderDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link SlabAllocator} on a bare mapping with the buddy as its set source, no locks and no
 * {@code ShmHeap}: the unowned path of one class and stripe (owned sets: {@link OwnedSetTest}).
 */
class SlabAllocatorTest {
    private static final long CAPACITY = 1 << 20;
    private static final int C = 2; // 256-byte blocks, four-page sets
    private static final int S = 0;
    private static final long BLOCK = SizeClasses.blockSize(C);

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    private BareHeap heap;
    private SlabAllocator slab;

    @BeforeEach
    void mapBareHeap() throws IOException {
        heap = BareHeap.create(heaps.newPath("slab"), CAPACITY);
        BuddyAllocator buddy = heap.buddy;
        slab = new SlabAllocator(heap.memory, heap.layout, heap.pages, new SetSource() {
            @Override
            public long takeSet(int sizeClass, int stripe) {
                long page = buddy.allocateSets(sizeClass, stripe, heap.layout.setGroupOrder(sizeClass));
                return page == BuddyAllocator.NO_BLOCK ? NO_SET : page;
            }

            @Override
            public void returnSet(long page) {
                buddy.free(page);
            }
        }, new OwnerRegistry(heap.memory, heap.layout), slot -> slot == BareHeap.SLOT);
    }

    @AfterEach
    void unmap() throws IOException {
        heap.close();
    }

    private long counter(int field) {
        return heap.header(classOffset(C, S, field));
    }

    private long allocate() {
        long offset = slab.allocate(C, S, BareHeap.HOLDER);
        assertNotEquals(SlabAllocator.NO_BLOCK, offset);
        return offset;
    }

    private int free(long offset) {
        return slab.free(C, S, offset, heap.pages.entry(heap.layout.pageOf(offset)));
    }

    private void assertVerifies() {
        VerifyReport report = heap.verify();
        assertTrue(report.ok(), report.toString());
    }

    @Test
    void shouldGrowFromTheBuddyAndHandOutTheLowestFreeBlock() {
        long first = allocate();
        long set = heap.layout.pageOf(first);
        assertEquals(heap.layout.pageOffset(set), first, "block 0 of the new set");
        assertEquals(first + BLOCK, allocate(), "then block 1");
        long head = heap.pages.word0(set);
        assertEquals(PageMapEntry.SLAB, PageMapEntry.kind(head));
        for (long page = set + 1; page < set + (1L << SizeClasses.setOrder(C)); page++) {
            assertEquals(PageMapEntry.SLAB_PAGE, PageMapEntry.kind(heap.pages.word0(page)), "page " + page + " of the set");
        }
        assertEquals(0b11, heap.pages.word1(set), "the occupancy word");
        assertEquals(set + 1, counter(CLASS_PARTIAL_HEAD), "a set with free blocks is on the partial list");
        assertEquals(1, counter(CLASS_SET_COUNT));
        assertEquals(2, counter(CLASS_USED_BLOCKS));
        assertEquals(BareHeap.HOLDER, heap.memory.getByte(heap.layout.holderLine(set) + 1), "block 1's holder byte");
        assertVerifies();
    }

    @Test
    void shouldUnlinkAFullSetAndLinkItAgainWhenABlockIsFreed() {
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < SizeClasses.SET_SIZE; i++) {
            blocks.add(allocate());
        }
        long set = heap.layout.pageOf(blocks.get(0));
        assertEquals(-1L, heap.pages.word1(set), "all 64 blocks handed out");
        assertEquals(0, counter(CLASS_PARTIAL_HEAD), "a full set is on no list");
        assertEquals(SlabAllocator.FREED, free(blocks.get(10)));
        assertEquals(set + 1, counter(CLASS_PARTIAL_HEAD));
        assertEquals(blocks.get(10), allocate(), "the freed block is the set's lowest free one");
        assertVerifies();
    }

    @Test
    void shouldRefuseAnInteriorOffsetAndADoubleFreeChangingNothing() {
        long offset = allocate();
        assertEquals(SlabAllocator.NOT_LIVE, free(offset + 8));
        assertEquals(1, counter(CLASS_USED_BLOCKS));
        assertEquals(SlabAllocator.FREED, free(offset));
        assertEquals(SlabAllocator.NOT_LIVE, free(offset), "a double free");
        assertEquals(0, counter(CLASS_USED_BLOCKS));
        assertEquals(counter(CLASS_ALLOCATIONS), counter(CLASS_FREES));
        assertVerifies();
    }

    @Test
    void shouldAnswerWrongClassForABlockOfAnotherClass() {
        long other = slab.allocate(C + 1, S, BareHeap.HOLDER);
        assertEquals(SlabAllocator.WRONG_CLASS, free(other));
        assertEquals(1, heap.header(classOffset(C + 1, S, CLASS_USED_BLOCKS)), "nothing changed");
    }

    @Test
    void shouldKeepEmptySetsUntilAskedThenReturnThemToTheBuddy() {
        long freeBefore = heap.header(BUDDY_FREE_BYTES_OFFSET);
        long offset = allocate();
        assertEquals(SlabAllocator.FREED, free(offset));
        assertEquals(1, counter(CLASS_SET_COUNT), "an empty set stays with its class");
        assertEquals(SizeClasses.setBytes(C), slab.releaseEmptySets(C, S));
        assertEquals(0, counter(CLASS_SET_COUNT));
        assertEquals(0, counter(CLASS_PARTIAL_HEAD));
        assertEquals(freeBefore, heap.header(BUDDY_FREE_BYTES_OFFSET), "the buddy has every byte back");
        assertVerifies();
    }

    @Test
    void shouldRebuildThePartialListAndCountersFromTheOccupancyWords() {
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < SizeClasses.SET_SIZE + 3; i++) {
            blocks.add(allocate());
        }
        free(blocks.get(0));
        heap.memory.putLong(classOffset(C, S, CLASS_PARTIAL_HEAD), 0);
        heap.memory.putLong(classOffset(C, S, CLASS_USED_BLOCKS), 999);
        heap.memory.putLong(classOffset(C, S, CLASS_SET_COUNT), 0);
        assertFalse(heap.verify().ok(), "the caches disagree with the page map");

        slab.rebuild(C, S);
        assertVerifies();
        assertEquals(SizeClasses.SET_SIZE + 2, counter(CLASS_USED_BLOCKS));
        assertEquals(2, counter(CLASS_SET_COUNT));
        List<Long> again = new ArrayList<>();
        for (int i = 0; i < SizeClasses.SET_SIZE - 2; i++) {
            again.add(allocate());
        }
        assertTrue(again.contains(blocks.get(0)), "both sets are listed again: the first set's free block is handed out");
        assertEquals(2, counter(CLASS_SET_COUNT), "the 62 free blocks of the two sets served, no new set");
        assertVerifies();
    }
}
