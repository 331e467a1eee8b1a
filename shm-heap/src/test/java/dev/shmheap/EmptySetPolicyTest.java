package dev.shmheap;

import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Empty slab sets stay with their class (no bouncing between slab and buddy) until trim() or
 * until a request cannot be met otherwise.
 */
class EmptySetPolicyTest {
    private static final long KIB = 1024;

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @Test
    void shouldNotBounceASetWhenOneBlockIsAllocatedAndFreedRepeatedly() throws Exception {
        Path path = heaps.newPath("policy-bounce");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            heap.free(heap.allocate(64));
            HeapStats first = heap.stats();
            assertEquals(1, first.buddyAllocations(), "the first block takes one set");
            assertEquals(0, first.buddyFrees());
            for (int i = 0; i < 1000; i++) {
                long block = heap.allocate(64);
                heap.free(block);
            }
            HeapStats after = heap.stats();
            assertEquals(first.buddyAllocations(), after.buddyAllocations(), "no set taken after the first");
            assertEquals(first.buddyFrees(), after.buddyFrees(), "no set given back");
            assertEquals(1, after.sizeClass(64).sets());
            assertEquals(1001, after.sizeClass(64).allocations());
            assertEquals(1001, after.sizeClass(64).frees());
        }
    }

    @Test
    void shouldNotBounceTheSecondSetAtASetBoundary() throws Exception {
        Path path = heaps.newPath("policy-boundary");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            List<Long> firstSet = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                firstSet.add(heap.allocate(512));
            }
            heap.free(heap.allocate(512)); // the 65th block takes a second set, which then empties
            HeapStats boundary = heap.stats();
            assertEquals(2, boundary.sizeClass(512).sets());
            for (int i = 0; i < 200; i++) {
                heap.free(heap.allocate(512));
            }
            HeapStats after = heap.stats();
            assertEquals(2, after.sizeClass(512).sets());
            assertEquals(boundary.buddyAllocations(), after.buddyAllocations());
            assertEquals(boundary.buddyFrees(), after.buddyFrees());
            for (long block : firstSet) {
                heap.free(block);
            }
        }
    }

    @Test
    void shouldReuseTheClassesOwnEmptySetsBeforeTakingNewOnes() throws Exception {
        Path path = heaps.newPath("policy-reuse");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            List<Long> blocks = new ArrayList<>();
            for (int i = 0; i < 3 * 64; i++) {
                blocks.add(heap.allocate(256));
            }
            for (long block : blocks) {
                heap.free(block);
            }
            HeapStats emptied = heap.stats();
            assertEquals(3, emptied.sizeClass(256).sets());
            blocks.clear();
            for (int i = 0; i < 3 * 64; i++) {
                blocks.add(heap.allocate(256));
            }
            HeapStats refilled = heap.stats();
            assertEquals(3, refilled.sizeClass(256).sets());
            assertEquals(emptied.buddyAllocations(), refilled.buddyAllocations(), "all blocks came from the empty sets");
            for (long block : blocks) {
                heap.free(block);
            }
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    @Test
    void shouldKeepAnEmptySetWithItsClass() throws Exception {
        Path path = heaps.newPath("policy-keep");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            heap.free(heap.allocate(200)); // class 256, a 16 KiB set
            HeapStats stats = heap.stats();
            SizeClassStats c256 = stats.sizeClass(256);
            assertEquals(1, c256.sets());
            assertEquals(64, c256.totalBlocks());
            assertEquals(0, c256.usedBlocks());
            assertEquals(heap.capacity() - 16 * KIB, stats.buddyFreeBytes(), "the empty set is still out of the buddy");
            assertEquals(0, stats.usedBytes(), "a free slab block counts as available");
            assertEquals(heap.capacity(), stats.availableBytes());
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    @Test
    void shouldReturnEmptySetsOnTrim() throws Exception {
        Path path = heaps.newPath("policy-trim");
        try (ShmHeap heap = ShmHeap.create(path, 4 << 20)) {
            HeapStats start = heap.stats();
            List<Long> blocks = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                blocks.add(heap.allocate(64)); // 4 sets of 4 KiB
            }
            for (int i = 0; i < 65; i++) {
                blocks.add(heap.allocate(256)); // 2 sets of 16 KiB
            }
            blocks.add(heap.allocate(4096)); // 1 set of 256 KiB
            HeapStats grown = heap.stats();
            assertEquals(4, grown.sizeClass(64).sets());
            assertEquals(2, grown.sizeClass(256).sets());
            assertEquals(1, grown.sizeClass(4096).sets());
            for (long block : blocks) {
                heap.free(block);
            }
            assertEquals(grown.buddyFreeBytes(), heap.stats().buddyFreeBytes(), "freeing blocks gives no set back");

            long expected = 4 * 4 * KIB + 2 * 16 * KIB + 256 * KIB;
            assertEquals(expected, heap.trim());
            HeapStats trimmed = heap.stats();
            for (SizeClassStats c : trimmed.sizeClasses()) {
                assertEquals(0, c.sets(), "class " + c.blockSize());
                assertEquals(0, c.totalBlocks(), "class " + c.blockSize());
            }
            assertEquals(heap.capacity(), trimmed.buddyFreeBytes());
            assertArrayEquals(start.freeBlocksPerOrder(), trimmed.freeBlocksPerOrder(), "returned sets merge back");
            assertEquals(start.largestFreeBlock(), trimmed.largestFreeBlock());
            assertEquals(0, heap.trim(), "nothing left to trim");
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    @Test
    void shouldKeepSetsWithLiveBlocksOnTrim() throws Exception {
        Path path = heaps.newPath("policy-trim-live");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            List<Long> blocks = new ArrayList<>();
            for (int i = 0; i < 3 * 64; i++) {
                blocks.add(heap.allocate(128)); // 3 full sets of 8 KiB
            }
            long kept = blocks.remove(64); // first block of the second set
            for (long block : blocks) {
                heap.free(block);
            }
            assertEquals(2 * 8 * KIB, heap.trim());
            HeapStats stats = heap.stats();
            assertEquals(1, stats.sizeClass(128).sets());
            assertEquals(1, stats.sizeClass(128).usedBlocks());
            assertEquals(128, heap.usableSize(kept));
            heap.free(kept);
            assertEquals(8 * KIB, heap.trim());
            assertEquals(heap.capacity(), heap.stats().buddyFreeBytes());
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    @Test
    void shouldReclaimEmptySetsOfAnotherClassWhenTheBuddyIsExhausted() throws Exception {
        Path path = heaps.newPath("policy-reclaim-class");
        try (ShmHeap heap = ShmHeap.create(path, 32 * KIB)) {
            List<Long> blocks = fillWith64ByteBlocks(heap);
            for (long block : blocks) {
                heap.free(block);
            }
            assertEquals(8, heap.stats().sizeClass(64).sets(), "8 empty sets hold the whole heap");
            assertEquals(0, heap.stats().buddyFreeBytes());

            long block = heap.allocate(100); // class 128 needs an 8 KiB set
            HeapStats stats = heap.stats();
            assertEquals(1, stats.sizeClass(128).sets());
            assertEquals(1, stats.sizeClass(128).usedBlocks());
            assertEquals(0, stats.sizeClass(64).sets(), "the empty sets went back to the buddy");
            assertEquals(128, heap.usableSize(block));
            assertTrue(heap.verify().ok(), heap.verify().toString());
            heap.free(block);
        }
    }

    @Test
    void shouldReclaimEmptySetsForALargeBlock() throws Exception {
        Path path = heaps.newPath("policy-reclaim-large");
        try (ShmHeap heap = ShmHeap.create(path, 32 * KIB)) {
            for (long block : fillWith64ByteBlocks(heap)) {
                heap.free(block);
            }
            long whole = heap.allocate(32 * KIB);
            assertEquals(heap.fileLength() - heap.capacity(), whole);
            HeapStats stats = heap.stats();
            assertEquals(0, stats.sizeClass(64).sets());
            assertEquals(32 * KIB, stats.usedBytes());
            assertEquals(32 * KIB, stats.buddyUsedBytes());
            assertTrue(heap.verify().ok(), heap.verify().toString());
            heap.free(whole);
            assertEquals(0, heap.stats().usedBytes());
        }
    }

    @Test
    void shouldReclaimOnlyTheEmptySets() throws Exception {
        Path path = heaps.newPath("policy-reclaim-partial");
        try (ShmHeap heap = ShmHeap.create(path, 32 * KIB)) {
            List<Long> blocks = fillWith64ByteBlocks(heap);
            long kept = blocks.remove(0); // keeps the set at page 0
            for (long block : blocks) {
                heap.free(block);
            }
            long large = heap.allocate(16 * KIB); // pages 4-7 merge again once the empty sets go back
            HeapStats stats = heap.stats();
            assertEquals(1, stats.sizeClass(64).sets(), "the set with a live block stays");
            assertEquals(1, stats.sizeClass(64).usedBlocks());
            assertEquals(64 + 16 * KIB, stats.usedBytes());
            assertEquals(64, heap.usableSize(kept));
            assertTrue(heap.verify().ok(), heap.verify().toString());
            heap.free(large);
            heap.free(kept);
            assertEquals(0, heap.stats().usedBytes());
        }
    }

    /**
     * Class 4096 cannot get a 256 KiB set on a 128 KiB heap, so its blocks come from single
     * buddy pages. A free page is there for the taking, so the request can be met without
     * giving back the empty set of class 64: that set must stay, else a program alternating
     * 64-byte and 4 KiB blocks makes class 64 take and return a set on every cycle.
     */
    @Test
    void shouldKeepOtherClassesEmptySetsWhenAClassIsServedFromAPage() throws Exception {
        Path path = heaps.newPath("policy-page-no-bounce");
        try (ShmHeap heap = ShmHeap.create(path, 128 * KIB)) {
            int cycles = 10;
            for (int i = 0; i < cycles; i++) {
                heap.free(heap.allocate(64));
                long page = heap.allocate(4096);
                assertEquals(4096, heap.usableSize(page));
                assertEquals(0, heap.stats().sizeClass(4096).sets(), "a 256 KiB set does not fit");
                assertEquals(4096, heap.stats().buddyUsedBytes(), "served from one buddy page");
                heap.free(page);
            }
            HeapStats after = heap.stats();
            assertEquals(1, after.sizeClass(64).sets(), "the empty set of class 64 was given back although a free page was there");
            assertEquals(1 + cycles, after.buddyAllocations(), "one set for class 64, then one page per 4 KiB block");
        }
    }

    /** Fills a 32 KiB heap with 64-byte blocks: exactly 8 sets of 64, then it is full. */
    private static List<Long> fillWith64ByteBlocks(ShmHeap heap) {
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < 512; i++) {
            blocks.add(heap.allocate(64));
        }
        assertEquals(ShmHeap.NO_SPACE, heap.tryAllocate(64, 8), "513th block of 64 bytes");
        assertThrows(HeapFullException.class, () -> heap.allocate(1));
        HeapStats full = heap.stats();
        assertEquals(8, full.sizeClass(64).sets());
        assertEquals(512, full.sizeClass(64).usedBlocks());
        assertEquals(32 * KIB, full.usedBytes());
        assertEquals(0, full.availableBytes());
        return blocks;
    }
}
