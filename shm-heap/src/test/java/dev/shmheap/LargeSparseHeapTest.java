package dev.shmheap;

import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A 64 GiB sparse heap on /dev/shm: creating and opening it must not touch the whole page map
 * or the data region. Prints how long create and open take; asserts only correctness.
 */
class LargeSparseHeapTest {
    private static final long CAPACITY = 64L << 30;

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @Test
    void shouldCreateOpenAllocateAndVerifyA64GiBSparseHeap() throws IOException {
        Path path = heaps.newPath("large-sparse");
        long start = System.nanoTime();
        try (ShmHeap heap = ShmHeap.create(path, CAPACITY, CreateOption.SPARSE)) {
            long created = System.nanoTime();
            System.out.printf("LargeSparseHeapTest: create of %d GiB sparse heap took %.1f ms (file length %d)%n", CAPACITY >> 30,
                    (created - start) / 1e6, heap.fileLength());
            assertEquals(CAPACITY, heap.capacity());
            assertEquals(CAPACITY, heap.stats().totalBytes());
            assertEquals(CAPACITY, heap.stats().availableBytes());
        }
        long allocatedAfterCreate = allocatedBytes(path);
        System.out.printf("LargeSparseHeapTest: %d KiB of the file are allocated after create%n", allocatedAfterCreate >> 10);
        assertTrue(allocatedAfterCreate < 16L << 20, "a sparse heap reserves only its metadata at creation, not "
                + allocatedAfterCreate + " bytes");

        long openStart = System.nanoTime();
        try (ShmHeap heap = ShmHeap.open(path)) {
            System.out.printf("LargeSparseHeapTest: open took %.1f ms%n", (System.nanoTime() - openStart) / 1e6);
            assertEquals(CAPACITY, heap.capacity());
            long small = heap.allocate(100);
            long large = heap.allocate(3 << 20);
            heap.putLong(small, 42);
            heap.putLong(large + (3 << 20) - 8, 43);
            assertEquals(42, heap.getLong(small));
            assertEquals(43, heap.getLong(large + (3 << 20) - 8));
            long verifyStart = System.nanoTime();
            VerifyReport report = heap.verify();
            System.out.printf("LargeSparseHeapTest: verify took %.1f ms: %s%n", (System.nanoTime() - verifyStart) / 1e6, report);
            assertTrue(report.ok(), report.toString());
            heap.free(small);
            heap.free(large);
            assertEquals(0, heap.stats().usedBytes());
            report = heap.verify();
            assertTrue(report.ok(), report.toString());
        }
        System.out.printf("LargeSparseHeapTest: %d KiB of the file are allocated after use%n", allocatedBytes(path) >> 10);
    }

    /** Bytes of storage the file occupies, from {@code stat --format=%b} (512-byte blocks), like du. */
    static long allocatedBytes(Path file) throws IOException {
        Process process = new ProcessBuilder("stat", "--format=%b", file.toString()).redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).trim();
        try {
            if (process.waitFor() != 0) {
                throw new IOException("stat " + file + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return Long.parseLong(out) * 512;
    }
}
