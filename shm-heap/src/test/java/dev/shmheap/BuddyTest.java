package dev.shmheap;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The buddy allocator splits blocks on allocate; a free leaves the block unmerged on its
 * order's list, and buddies merge when a request finds no block large enough, or on trim().
 */
class BuddyTest {
    private static final long MIB = 1 << 20;

    @Test
    void shouldStartAsOneFreeBlockWithNoFragmentation() throws Exception {
        Path path = TestHeaps.newPath("buddy-fresh");
        try (ShmHeap heap = ShmHeap.create(path, MIB)) {
            HeapStats stats = heap.stats();
            long[] free = stats.freeBlocksPerOrder();
            assertEquals(1, free[8], "1 MiB is one block of order 8");
            assertEquals(1, sum(free));
            assertEquals(MIB, stats.largestFreeBlock());
            assertEquals(MIB, stats.buddyFreeBytes());
            assertEquals(0.0, stats.fragmentation());
        } finally {
            TestHeaps.delete(path);
        }
    }

    @Test
    void shouldReportFragmentationOfANonPowerOfTwoHeap() throws Exception {
        Path path = TestHeaps.newPath("buddy-48k");
        try (ShmHeap heap = ShmHeap.create(path, 48 * 1024)) {
            HeapStats stats = heap.stats();
            long[] free = stats.freeBlocksPerOrder();
            assertEquals(1, free[3], "32 KiB block");
            assertEquals(1, free[2], "16 KiB block");
            assertEquals(32 * 1024, stats.largestFreeBlock());
            assertEquals(1.0 / 3.0, stats.fragmentation(), 1e-12);
            // The two blocks are not buddies: freeing everything must not merge them.
            long a = heap.allocate(16 * 1024);
            long b = heap.allocate(32 * 1024);
            heap.free(a);
            heap.free(b);
            assertArrayEquals(free, heap.stats().freeBlocksPerOrder());
            assertTrue(heap.verify().ok(), heap.verify().toString());
        } finally {
            TestHeaps.delete(path);
        }
    }

    @Test
    void shouldSplitFor8KiBCacheTheFreedBlockAndMergeOnTrim() throws Exception {
        Path path = TestHeaps.newPath("buddy-split");
        try (ShmHeap heap = ShmHeap.create(path, MIB)) {
            HeapStats start = heap.stats();
            long block = heap.allocate(8192);
            assertEquals(8192, heap.usableSize(block));

            HeapStats split = heap.stats();
            long[] free = split.freeBlocksPerOrder();
            // 1 MiB (order 8) split down to order 1: one free half at each order 2..7; the other
            // 8 KiB half went into this process's buddy cache with the request (a refill).
            for (int order = 2; order <= 7; order++) {
                assertEquals(1, free[order], "order " + order);
            }
            assertEquals(0, free[0]);
            assertEquals(0, free[1]);
            assertEquals(0, free[8]);
            assertEquals(8192, split.cachedBytes());
            assertEquals(MIB / 2, split.largestFreeBlock());
            assertEquals(MIB - 16384, split.buddyFreeBytes());
            assertEquals(8192, split.buddyUsedBytes());
            assertTrue(split.fragmentation() > 0);

            heap.free(block);
            HeapStats freed = heap.stats();
            assertArrayEquals(free, freed.freeBlocksPerOrder(), "the freed block waits in this process's buddy cache");
            assertEquals(16384, freed.cachedBytes());
            assertEquals(MIB - 16384, freed.buddyFreeBytes());
            assertTrue(heap.verify().ok(), heap.verify().toString());
            // the next request of that size takes it back without the buddy
            assertEquals(block, heap.allocate(8192));
            assertArrayEquals(free, heap.stats().freeBlocksPerOrder());
            heap.free(block);

            heap.trim();
            HeapStats end = heap.stats();
            assertArrayEquals(start.freeBlocksPerOrder(), end.freeBlocksPerOrder());
            assertEquals(start.largestFreeBlock(), end.largestFreeBlock());
            assertEquals(MIB, end.buddyFreeBytes());
            assertEquals(0.0, end.fragmentation());
            assertTrue(heap.verify().ok(), heap.verify().toString());
        } finally {
            TestHeaps.delete(path);
        }
    }

    @Test
    void shouldMergeNeighboursFreedLowFirst() throws Exception {
        expectNeighboursMerge(true);
    }

    @Test
    void shouldMergeNeighboursFreedHighFirst() throws Exception {
        expectNeighboursMerge(false);
    }

    /** Blocks of 512 KiB (order 7), above the largest order a buddy cache keeps: their frees reach the free lists. */
    private static void expectNeighboursMerge(boolean lowFirst) throws Exception {
        Path path = TestHeaps.newPath("buddy-merge");
        long size = 512 * 1024;
        long capacity = 4 * MIB; // order 10
        try (ShmHeap heap = ShmHeap.create(path, capacity)) {
            long dataOffset = heap.fileLength() - heap.capacity();
            HeapStats start = heap.stats();
            long a = heap.allocate(size);
            long b = heap.allocate(size);
            long low = Math.min(a, b);
            long high = Math.max(a, b);
            assertEquals(low - dataOffset, (high - dataOffset) ^ size, "the two 512 KiB blocks are buddies");
            long[] afterTwo = heap.stats().freeBlocksPerOrder();
            assertEquals(0, afterTwo[7], "both halves of the order-8 block are used");
            for (int order = 8; order <= 9; order++) {
                assertEquals(1, afterTwo[order], "order " + order);
            }

            heap.free(lowFirst ? low : high);
            HeapStats one = heap.stats();
            long[] afterOne = one.freeBlocksPerOrder();
            assertEquals(1, afterOne[7], "a freed block whose buddy is used stays on its own");
            assertEquals(0, afterOne[10]);
            assertEquals(size, one.buddyUsedBytes());
            assertEquals(0, one.cachedBytes());
            assertTrue(heap.verify().ok(), heap.verify().toString());

            heap.free(lowFirst ? high : low);
            assertEquals(2, heap.stats().freeBlocksPerOrder()[7], "both wait unmerged");
            assertTrue(heap.verify().ok(), heap.verify().toString());

            // No free block is large enough for the whole capacity, so the request merges
            // every pair first, and gets the block whole again.
            long whole = heap.allocate(capacity);
            assertEquals(dataOffset, whole);
            heap.free(whole);
            HeapStats end = heap.stats();
            assertArrayEquals(start.freeBlocksPerOrder(), end.freeBlocksPerOrder(), "merged all the way up");
            assertEquals(capacity, end.largestFreeBlock());
            assertEquals(0.0, end.fragmentation());
            assertTrue(heap.verify().ok(), heap.verify().toString());
        } finally {
            TestHeaps.delete(path);
        }
    }

    @Test
    void shouldNotMergeNeighboursThatAreNotBuddies() throws Exception {
        Path path = TestHeaps.newPath("buddy-nonbuddies");
        // 512 KiB blocks (order 7), above the largest order a buddy cache keeps, in 4 MiB (order 10)
        long size = 512 * 1024;
        long capacity = 4 * MIB;
        try (ShmHeap heap = ShmHeap.create(path, capacity)) {
            long dataOffset = heap.fileLength() - heap.capacity();
            long a = heap.allocate(size); // pages 0-127
            long b = heap.allocate(size); // pages 128-255, a's buddy
            long c = heap.allocate(size); // pages 256-383, split from the order-8 block at page 256
            assertEquals(List.of(0L, size, 2 * size), List.of(a - dataOffset, b - dataOffset, c - dataOffset));
            // b and c are neighbours but not buddies: b stays alone (a is used), c merges with pages 384-511.
            heap.free(b);
            heap.free(c);
            heap.trim();
            Map<Long, BlockInfo> blocks = new HashMap<>();
            heap.forEachBlock(block -> blocks.put(block.offset(), block));
            assertEquals(new BlockInfo(b, size, BlockInfo.Kind.FREE, 0, 0), blocks.get(b));
            assertEquals(new BlockInfo(c, 2 * size, BlockInfo.Kind.FREE, 0, 0), blocks.get(c));
            assertTrue(heap.verify().ok(), heap.verify().toString());
            heap.free(a);
            heap.trim();
            assertEquals(1, sum(heap.stats().freeBlocksPerOrder()));
            assertEquals(capacity, heap.stats().largestFreeBlock());
        } finally {
            TestHeaps.delete(path);
        }
    }

    @Test
    void shouldCoalesceBackToTheInitialBlocksOfARaggedHeap() throws Exception {
        Path path = TestHeaps.newPath("buddy-ragged");
        long capacity = (3L << 20) + 12 * 1024; // 771 pages: blocks of 2 MiB, 1 MiB, 8 KiB, 4 KiB
        try (ShmHeap heap = ShmHeap.create(path, capacity)) {
            HeapStats start = heap.stats();
            long[] initial = start.freeBlocksPerOrder();
            assertEquals(1, initial[9]);
            assertEquals(1, initial[8]);
            assertEquals(1, initial[1]);
            assertEquals(1, initial[0]);
            assertEquals(4, sum(initial));

            List<Long> pages = new ArrayList<>();
            for (long offset; (offset = heap.tryAllocate(8192, 8192)) != ShmHeap.NO_SPACE; ) {
                pages.add(offset);
            }
            for (long offset; (offset = heap.tryAllocate(4096, 4096)) != ShmHeap.NO_SPACE; ) {
                pages.add(offset);
            }
            assertEquals(capacity, heap.stats().usedBytes(), "the whole heap handed out");
            assertEquals(0, heap.stats().largestFreeBlock());
            Collections.shuffle(pages, new Random(7));
            for (long offset : pages) {
                heap.free(offset);
            }
            assertTrue(heap.verify().ok(), heap.verify().toString());
            heap.trim();
            HeapStats end = heap.stats();
            assertArrayEquals(initial, end.freeBlocksPerOrder(), "merged back, and never across the ragged end");
            assertEquals(start.largestFreeBlock(), end.largestFreeBlock());
            assertEquals(capacity, end.buddyFreeBytes());
            assertTrue(heap.verify().ok(), heap.verify().toString());
        } finally {
            TestHeaps.delete(path);
        }
    }

    private static long sum(long[] values) {
        long total = 0;
        for (long v : values) {
            total += v;
        }
        return total;
    }
}
