package dev.shmheap;

import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The minimum heap, 32 KiB, serves every class; classes whose set does not fit get single pages. */
class SmallHeapTest {
    private static final long MIN = 32 * 1024;
    private static final int[] CLASSES = {64, 128, 256, 512, 1024, 2048, 4096};

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @Test
    void shouldRejectACapacityBelowTheMinimum() throws Exception {
        Path path = heaps.newPath("small-reject");
        assertThrows(IllegalArgumentException.class, () -> ShmHeap.create(path, MIN - 1));
    }

    @Test
    void shouldServeEveryClassOnTheMinimumHeap() throws Exception {
        Path path = heaps.newPath("small-every");
        try (ShmHeap heap = ShmHeap.create(path, MIN)) {
            assertEquals(MIN, heap.capacity());
            for (int c : CLASSES) {
                boolean setFits = 64L * c <= MIN;
                long size = c / 2 + 1;
                long a = heap.allocate(size);
                long b = heap.allocate(size);
                assertNotEquals(a, b);
                heap.putLong(a, 0x1111);
                heap.putLong(b, 0x2222);
                assertEquals(0x1111, heap.getLong(a));
                HeapStats stats = heap.stats();
                if (setFits) {
                    assertEquals(c, heap.usableSize(a), "class " + c);
                    assertEquals(1, stats.sizeClass(c).sets(), "class " + c);
                    assertEquals(2, stats.sizeClass(c).usedBlocks(), "class " + c);
                    assertEquals(2L * c, stats.usedBytes(), "class " + c);
                } else {
                    // No room for a set of 64 * c bytes: each block is one 4 KiB buddy page.
                    assertEquals(4096, heap.usableSize(a), "class " + c);
                    assertEquals(4096, heap.usableSize(b), "class " + c);
                    assertEquals(0, stats.sizeClass(c).sets(), "class " + c);
                    assertEquals(2 * 4096, stats.buddyUsedBytes(), "class " + c);
                    assertEquals(2 * 4096, stats.usedBytes(), "class " + c);
                }
                VerifyReport report = heap.verify();
                assertTrue(report.ok(), "class " + c + ": " + report);
                heap.free(a);
                heap.free(b);
                assertEquals(0, heap.stats().usedBytes(), "class " + c);
            }
            heap.trim();
            HeapStats end = heap.stats();
            assertEquals(0, end.usedBytes());
            assertEquals(MIN, end.availableBytes());
            assertEquals(MIN, end.buddyFreeBytes());
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    @Test
    void shouldFillTheMinimumHeapWithBlocksOfEachClassInTurn() throws Exception {
        Path path = heaps.newPath("small-fill");
        try (ShmHeap heap = ShmHeap.create(path, MIN)) {
            for (int c : CLASSES) {
                boolean setFits = 64L * c <= MIN;
                long expectedBlocks = setFits ? MIN / c : MIN / 4096;
                List<Long> blocks = new ArrayList<>();
                for (long offset; (offset = heap.tryAllocate(c, 8)) != ShmHeap.NO_SPACE; ) {
                    blocks.add(offset);
                    assertTrue(blocks.size() <= expectedBlocks, "class " + c + " handed out more than fits");
                }
                assertEquals(expectedBlocks, blocks.size(), "class " + c + ": the previous class's empty sets were reclaimed");
                HeapStats full = heap.stats();
                assertEquals(MIN, full.usedBytes(), "class " + c);
                assertEquals(0, full.availableBytes(), "class " + c);
                assertTrue(heap.verify().ok(), "class " + c + ": " + heap.verify());
                for (long block : blocks) {
                    heap.free(block);
                }
                assertEquals(0, heap.stats().usedBytes(), "class " + c);
            }
            assertEquals(0, heap.stats().usedBytes());
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    @Test
    void shouldServeTheWholeMinimumHeapAsOneBlock() throws Exception {
        Path path = heaps.newPath("small-whole");
        try (ShmHeap heap = ShmHeap.create(path, MIN)) {
            assertEquals(MIN, heap.largestBlockSize());
            long whole = heap.allocate(MIN);
            assertEquals(MIN, heap.usableSize(whole));
            assertEquals(ShmHeap.NO_SPACE, heap.tryAllocate(1, 8));
            assertTrue(heap.verify().ok(), heap.verify().toString());
            heap.free(whole);
            assertEquals(0, heap.stats().usedBytes());
        }
    }
}
