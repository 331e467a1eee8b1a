package dev.shmheap;

import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Misuse of allocate and free is rejected with an {@link IllegalArgumentException} that names
 * the bad value, and leaves the heap exactly as it was; running out of memory is a
 * {@link HeapFullException} (or {@link ShmHeap#NO_SPACE}) that the heap recovers from.
 */
class FreeAndAllocateErrorsTest {
    private static final long CAPACITY = 1 << 20;
    private static final long PAGE = 4096;

    private Path path;
    private ShmHeap heap;

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @BeforeEach
    void createHeap() throws IOException {
        path = heaps.newPath("misuse");
        heap = ShmHeap.create(path, CAPACITY);
    }

    @AfterEach
    void deleteHeap() throws IOException {
        if (heap != null) {
            heap.close();
        }
    }

    @Test
    void shouldRejectBadSizesNamingThem() {
        for (long size : new long[] {0, -1, Long.MIN_VALUE, heap.largestBlockSize() + 1, Long.MAX_VALUE}) {
            assertMisuse("size=" + size, () -> heap.allocate(size));
            assertMisuse("size=" + size, () -> heap.allocate(size, 64));
            assertMisuse("size=" + size, () -> heap.tryAllocate(size, 8));
        }
        assertEquals(heap.largestBlockSize(), heap.usableSize(heap.allocate(heap.largestBlockSize())), "the largest block itself is fine");
    }

    @Test
    void shouldRejectBadAlignmentsNamingThem() {
        for (long alignment : new long[] {3, 0, -8, 24, 4097, Long.MIN_VALUE, heap.maxAlignment() * 2}) {
            assertMisuse("alignment=" + alignment, () -> heap.allocate(64, alignment));
            assertMisuse("alignment=" + alignment, () -> heap.tryAllocate(64, alignment));
        }
        long aligned = heap.allocate(64, heap.maxAlignment());
        assertEquals(0, aligned % heap.maxAlignment(), "the largest alignment itself is fine");
    }

    /** tryAllocate's contract: NO_SPACE for a valid request the heap cannot meet now, an exception for one it never can. */
    @Test
    void shouldAnswerNoSpaceOnlyForARequestThatCouldFitAnotherTime() {
        long largest = heap.largestBlockSize();
        long held = heap.allocate(64); // the heap is no longer empty: its largest block cannot be had now
        assertEquals(ShmHeap.NO_SPACE, heap.tryAllocate(largest, 8));
        assertMisuse("size=" + (largest + 1), () -> heap.tryAllocate(largest + 1, 8));
        assertMisuse("alignment=" + heap.maxAlignment() * 2, () -> heap.tryAllocate(64, heap.maxAlignment() * 2));
        heap.free(held);
        heap.trim();
        long whole = heap.tryAllocate(largest, 8);
        assertNotEquals(ShmHeap.NO_SPACE, whole, "the same request succeeds once the heap is empty again");
        assertEquals(largest, heap.usableSize(whole));
    }

    @Test
    void shouldRejectDoubleFreeOfSlabBlock() {
        long block = heap.allocate(100);
        heap.allocate(100); // keeps the set in use, so the freed block stays a free slot of it
        heap.free(block);
        assertFreeRejected(block);
    }

    @Test
    void shouldRejectDoubleFreeOfLastBlockOfSlabSet() {
        long block = heap.allocate(64);
        heap.free(block);
        assertFreeRejected(block);
        heap.trim(); // the empty set goes back to the buddy: the offset is now inside a free buddy block
        assertFreeRejected(block);
    }

    @Test
    void shouldRejectDoubleFreeOfBuddyBlock() {
        long merged = heap.allocate(20_000);
        long kept = heap.allocate(20_000);
        heap.free(merged);
        assertFreeRejected(merged);
        heap.free(kept);
        assertFreeRejected(kept);
        assertFreeRejected(merged);
    }

    @Test
    void shouldRejectInteriorOffsetsOfSlabBlocks() {
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            blocks.add(heap.allocate(2000)); // class 2048: two blocks per page, so blocks 2.. lie in later pages of the set
        }
        for (long block : blocks) {
            assertFreeRejected(block + 8);
            assertFreeRejected(block + 1);
            assertFreeRejected(block + 1024);
            assertFreeRejected(block + 2047);
        }
        long small = heap.allocate(64);
        assertFreeRejected(small + 8);
        assertFreeRejected(small + 63);
    }

    @Test
    void shouldRejectInteriorOffsetsOfBuddyBlocks() {
        long block = heap.allocate(5 * PAGE); // 32 KiB, eight pages
        for (long delta : new long[] {1, 8, PAGE - 8, PAGE, PAGE + 8, 3 * PAGE, 5 * PAGE + 24, 8 * PAGE - 8}) {
            assertFreeRejected(block + delta);
        }
        long onePage = heap.allocate(PAGE + 1); // 8 KiB
        assertFreeRejected(onePage + 8);
        assertFreeRejected(onePage + PAGE);
    }

    @Test
    void shouldRejectOffsetsOutsideTheDataRegion() {
        heap.allocate(100);
        long dataStart = heap.fileLength() - heap.capacity();
        for (long offset : new long[] {0, -1, 8, 4096, dataStart - 8, heap.fileLength(), heap.fileLength() + 4096,
                Long.MIN_VALUE, Long.MAX_VALUE}) {
            assertFreeRejected(offset);
        }
    }

    @Test
    void shouldRejectOffsetsNeverHandedOut() {
        long slab = heap.allocate(128);
        heap.allocate(PAGE * 2);
        long dataStart = heap.fileLength() - heap.capacity();
        assertFreeRejected(slab + 128); // the next slot of the same set, never allocated
        assertFreeRejected(slab + 64 * 128 - 128); // the last slot of the set
        assertFreeRejected(heap.fileLength() - PAGE); // the last page, in a free buddy block
        assertFreeRejected(heap.fileLength() - 8);
        assertFreeRejected(dataStart + CAPACITY / 2);
    }

    @Test
    void shouldReportHeapFullWithSizeAndAvailableBytesAndRecover() {
        heap.close();
        heap = null;
        Path small = heaps.newPath("full");
        try (ShmHeap full = ShmHeap.create(small, 64 * 1024)) {
            long size = 5000;
            List<Long> blocks = new ArrayList<>();
            HeapFullException e = null;
            for (int i = 0; i < 1000 && e == null; i++) {
                try {
                    long block = full.allocate(size);
                    full.putLong(block, block);
                    blocks.add(block);
                } catch (HeapFullException thrown) {
                    e = thrown;
                }
            }
            assertNotNull(e, "a 64 KiB heap held 1000 blocks of " + size + " bytes");
            assertEquals(8, blocks.size(), "eight 8 KiB blocks fill 64 KiB");
            assertEquals(size, e.requestedSize());
            assertEquals(full.stats().availableBytes(), e.availableBytes());
            assertTrue(e.getMessage().contains("size=" + size), e.getMessage());
            assertTrue(e.getMessage().contains(e.availableBytes() + " bytes available"), e.getMessage());
            assertTrue(e.getMessage().contains(small.toString()), e.getMessage());
            assertEquals(ShmHeap.NO_SPACE, full.tryAllocate(size, 8));
            assertEquals(ShmHeap.NO_SPACE, full.tryAllocate(64, 8));
            HeapFullException tiny = assertThrows(HeapFullException.class, () -> full.allocate(1));
            assertTrue(tiny.getMessage().contains("size=1 "), tiny.getMessage());
            assertTrue(full.verify().ok(), full.verify().toString());

            full.free(blocks.remove(3));
            long again = full.allocate(size);
            blocks.add(again);
            assertEquals(ShmHeap.NO_SPACE, full.tryAllocate(size, 8));
            assertTrue(full.verify().ok(), full.verify().toString());

            // Small blocks too: fill with 64-byte blocks until full, then recover the same way.
            full.free(blocks.remove(0));
            List<Long> smallBlocks = new ArrayList<>();
            long offset;
            while ((offset = full.tryAllocate(64, 8)) != ShmHeap.NO_SPACE) {
                smallBlocks.add(offset);
            }
            assertEquals(64 * 2, smallBlocks.size(), "an 8 KiB hole holds two sets of 64 blocks of 64 bytes");
            HeapFullException small64 = assertThrows(HeapFullException.class, () -> full.allocate(64));
            assertEquals(0, small64.availableBytes());
            full.free(smallBlocks.remove(77));
            assertEquals(64, full.usableSize(full.allocate(64)));
            assertTrue(full.verify().ok(), full.verify().toString());
            for (long block : blocks) {
                assertEquals(block, full.getLong(block), "the live blocks keep their contents");
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    // ---- helpers ----

    private void assertMisuse(String named, org.junit.jupiter.api.function.Executable call) {
        HeapStats before = heap.stats();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, named);
        assertTrue(e.getMessage().contains(named), "message should contain '" + named + "': " + e.getMessage());
        assertUnchanged(before, named);
    }

    /** free(offset) must throw naming the offset and change nothing. */
    private void assertFreeRejected(long offset) {
        HeapStats before = heap.stats();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> heap.free(offset), "free(" + offset + ")");
        assertTrue(e.getMessage().contains(Long.toString(offset)), "message should name offset " + offset + ": " + e.getMessage());
        assertUnchanged(before, "free(" + offset + ")");
        if (offset >= heap.fileLength() - heap.capacity() && offset < heap.fileLength()) {
            assertThrows(IllegalArgumentException.class, () -> heap.usableSize(offset), "usableSize(" + offset + ")");
        }
    }

    private void assertUnchanged(HeapStats before, String after) {
        HeapStats now = heap.stats();
        assertEquals(before.usedBytes(), now.usedBytes(), "usedBytes after " + after);
        assertEquals(before.buddyFreeBytes(), now.buddyFreeBytes(), "buddyFreeBytes after " + after);
        assertEquals(before.buddyFrees(), now.buddyFrees(), "buddyFrees after " + after);
        for (int c = 0; c < before.sizeClasses().size(); c++) {
            SizeClassStats was = before.sizeClasses().get(c);
            SizeClassStats is = now.sizeClasses().get(c);
            assertEquals(was.usedBlocks(), is.usedBlocks(), "used blocks of class " + was.blockSize() + " after " + after);
            assertEquals(was.sets(), is.sets(), "sets of class " + was.blockSize() + " after " + after);
            assertEquals(was.frees(), is.frees(), "frees of class " + was.blockSize() + " after " + after);
        }
        VerifyReport report = heap.verify();
        assertTrue(report.ok(), "after " + after + ": " + report);
    }
}
