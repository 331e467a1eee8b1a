package dev.shmheap;

import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Which allocator serves a request: slab class C for size and alignment up to C, else the buddy. */
class RoutingTest {
    private static final int[] CLASSES = {64, 128, 256, 512, 1024, 2048, 4096};

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @Test
    void shouldRouteSizesAboveHalfTheClassUpToTheClassToThatClass() throws Exception {
        Path path = heaps.newPath("routing-size");
        try (ShmHeap heap = ShmHeap.create(path, 4 << 20)) {
            for (int c : CLASSES) {
                for (long size = c / 2 + 1; size <= c; size++) {
                    expectServedByClass(heap, c, size, ShmHeap.DEFAULT_ALIGNMENT);
                }
            }
            // The smallest class also takes everything below its half.
            for (long size = 1; size <= 32; size++) {
                expectServedByClass(heap, 64, size, ShmHeap.DEFAULT_ALIGNMENT);
            }
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    @Test
    void shouldRouteAlignmentsUpToTheClassToThatClass() throws Exception {
        Path path = heaps.newPath("routing-align");
        try (ShmHeap heap = ShmHeap.create(path, 4 << 20)) {
            for (int c : CLASSES) {
                for (long alignment = 1; alignment <= c; alignment <<= 1) {
                    // A size that alone picks class c, and with the alignment still does.
                    expectServedByClass(heap, c, c, alignment);
                }
                // A tiny block whose alignment alone picks class c.
                expectServedByClass(heap, c, 1, c);
            }
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    @Test
    void shouldRouteSize4097ToTheBuddy() throws Exception {
        Path path = heaps.newPath("routing-4097");
        try (ShmHeap heap = ShmHeap.create(path, 4 << 20)) {
            expectServedByBuddy(heap, 4097, ShmHeap.DEFAULT_ALIGNMENT, 8192);
            expectServedByBuddy(heap, 8192, ShmHeap.DEFAULT_ALIGNMENT, 8192);
            expectServedByBuddy(heap, 8193, ShmHeap.DEFAULT_ALIGNMENT, 16384);
            expectServedByBuddy(heap, 70_000, ShmHeap.DEFAULT_ALIGNMENT, 128 * 1024);
        }
    }

    @Test
    void shouldRouteAlignment8192WithASmallSizeToTheBuddy() throws Exception {
        Path path = heaps.newPath("routing-align8192");
        try (ShmHeap heap = ShmHeap.create(path, 4 << 20)) {
            expectServedByBuddy(heap, 1, 8192, 8192);
            expectServedByBuddy(heap, 64, 8192, 8192);
            expectServedByBuddy(heap, 100, 65536, 65536);
        }
    }

    @Test
    void shouldAlignOffsetsToEveryPowerOfTwoUpToMaxAlignment() throws Exception {
        // A power-of-two heap, a non-power-of-two one (data alignment below the capacity) and the minimum.
        for (long capacity : new long[] {4L << 20, (3L << 20) + 12 * 1024, 40 * 1024}) {
            Path path = heaps.newPath("routing-alignment");
            try (ShmHeap heap = ShmHeap.create(path, capacity)) {
                assertTrue(heap.maxAlignment() >= 4096, "maxAlignment=" + heap.maxAlignment());
                for (long alignment = 1; alignment <= heap.maxAlignment(); alignment <<= 1) {
                    for (long size : new long[] {1, 8, alignment, Math.max(1, alignment - 1)}) {
                        long offset = heap.allocate(size, alignment);
                        try {
                            assertEquals(0, offset % alignment, "capacity=" + capacity + " size=" + size + " alignment=" + alignment
                                    + " offset=" + offset);
                            assertTrue(heap.usableSize(offset) >= size);
                            assertInData(heap, offset, heap.usableSize(offset));
                        } finally {
                            heap.free(offset);
                        }
                    }
                }
                assertEquals(0, heap.stats().usedBytes());
                assertTrue(heap.verify().ok(), heap.verify().toString());
            }
        }
    }

    @Test
    void shouldHandOutDisjointBlocksInsideTheDataRegion() throws Exception {
        Path path = heaps.newPath("routing-disjoint");
        try (ShmHeap heap = ShmHeap.create(path, 16 << 20)) {
            Random random = new Random(42);
            List<long[]> blocks = new ArrayList<>();
            for (int i = 0; i < 3000; i++) {
                long size = randomSize(random);
                long alignment = 1L << random.nextInt(10);
                long offset = heap.tryAllocate(size, alignment);
                if (offset == ShmHeap.NO_SPACE) {
                    break;
                }
                long usable = heap.usableSize(offset);
                assertTrue(usable >= size, "usable=" + usable + " size=" + size);
                assertEquals(0, offset % alignment);
                assertInData(heap, offset, usable);
                blocks.add(new long[] {offset, usable});
                // Free some now and then so that blocks are reused.
                if (random.nextInt(4) == 0) {
                    long[] victim = blocks.remove(random.nextInt(blocks.size()));
                    heap.free(victim[0]);
                }
            }
            assertTrue(blocks.size() > 1000, "only " + blocks.size() + " blocks live");
            blocks.sort((a, b) -> Long.compare(a[0], b[0]));
            for (int i = 1; i < blocks.size(); i++) {
                long[] previous = blocks.get(i - 1);
                long[] current = blocks.get(i);
                assertTrue(previous[0] + previous[1] <= current[0], "block [" + previous[0] + ", " + (previous[0] + previous[1])
                        + ") overlaps block [" + current[0] + ", " + (current[0] + current[1]) + ")");
            }
            assertTrue(heap.verify().ok(), heap.verify().toString());
            for (long[] block : blocks) {
                heap.free(block[0]);
            }
            assertEquals(0, heap.stats().usedBytes());
        }
    }

    /** Log-uniform over 1 B .. 64 KiB, so that every class and small buddy orders are hit. */
    private static long randomSize(Random random) {
        int bits = random.nextInt(16);
        return 1 + random.nextInt(1 << (bits + 1));
    }

    private static void assertInData(ShmHeap heap, long offset, long length) {
        long dataOffset = heap.fileLength() - heap.capacity();
        assertTrue(offset >= dataOffset && offset + length <= heap.fileLength(),
                "block [" + offset + ", " + (offset + length) + ") is outside the data region [" + dataOffset + ", " + heap.fileLength() + ")");
    }

    private static void expectServedByClass(ShmHeap heap, int blockSize, long size, long alignment) {
        HeapStats before = heap.stats();
        long offset = heap.allocate(size, alignment);
        try {
            HeapStats after = heap.stats();
            String request = "size=" + size + " alignment=" + alignment;
            for (int c : CLASSES) {
                long expected = before.sizeClass(c).usedBlocks() + (c == blockSize ? 1 : 0);
                assertEquals(expected, after.sizeClass(c).usedBlocks(), request + ": used blocks of class " + c);
            }
            assertEquals(blockSize, heap.usableSize(offset), request);
            assertEquals(before.buddyUsedBytes(), after.buddyUsedBytes(), request + ": buddy used bytes");
            assertEquals(0, offset % alignment, request + " offset=" + offset);
            assertEquals(0, offset % blockSize, request + ": slab blocks are aligned to their size");
            assertInData(heap, offset, blockSize);
        } finally {
            heap.free(offset);
        }
    }

    private static void expectServedByBuddy(ShmHeap heap, long size, long alignment, long blockBytes) {
        HeapStats before = heap.stats();
        long offset = heap.allocate(size, alignment);
        try {
            HeapStats after = heap.stats();
            String request = "size=" + size + " alignment=" + alignment;
            assertEquals(blockBytes, heap.usableSize(offset), request);
            assertEquals(before.buddyUsedBytes() + blockBytes, after.buddyUsedBytes(), request + ": buddy used bytes");
            assertEquals(before.usedBytes() + blockBytes, after.usedBytes(), request + ": used bytes");
            assertEquals(before.buddyAllocations() + 1, after.buddyAllocations(), request + ": buddy allocations");
            for (int c : CLASSES) {
                assertEquals(before.sizeClass(c).usedBlocks(), after.sizeClass(c).usedBlocks(), request + ": used blocks of class " + c);
                assertEquals(before.sizeClass(c).allocations(), after.sizeClass(c).allocations(), request + ": allocations of class " + c);
            }
            assertEquals(0, offset % alignment, request + " offset=" + offset);
            assertEquals(0, offset % blockBytes, request + ": a buddy block is aligned to its size");
            assertInData(heap, offset, blockBytes);
        } finally {
            heap.free(offset);
        }
    }
}
