package dev.shmheap;

import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Threads of one process share one heap: every block is filled with an owner/sequence pattern
 * and checked before it is freed, so a block handed out twice or overlapping another shows up
 * as a clobbered pattern naming the offset.
 */
class ConcurrencyTest {
    private static final int THREADS = 4;
    private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(2);
    /** Each thread does at least this much work however slow the machine. */
    private static final int MIN_OPERATIONS = 1_000;
    private static final int MAX_LIVE_PER_THREAD = 40;
    private static final long SEED = 0x5EED_2024L;

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @Test
    void shouldKeepBlocksIntactUnderConcurrentAllocateAndFree() throws Exception {
        runOnHeap(64 << 20, RUN_NANOS, false);
    }

    /**
     * The same on a heap too small for the load: requests are refused, empty sets are reclaimed
     * and classes fall back to single pages while other threads allocate and free.
     */
    @Test
    void shouldKeepBlocksIntactWhenTheHeapRunsFull() throws Exception {
        runOnHeap(4 << 20, RUN_NANOS / 2, true);
    }

    private void runOnHeap(long capacity, long runNanos, boolean expectRefusals) throws Exception {
        Path path = heaps.newPath("concurrency");
        List<Thread> workers = new java.util.concurrent.CopyOnWriteArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS, task -> {
            Thread worker = new Thread(task);
            workers.add(worker);
            return worker;
        });
        try (ShmHeap heap = ShmHeap.create(path, capacity)) {
            HeapStats start = heap.stats();
            Map<Long, Integer> live = new ConcurrentHashMap<>();
            CyclicBarrier go = new CyclicBarrier(THREADS);
            List<Future<long[]>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int id = t;
                results.add(pool.submit(() -> run(heap, id, live, go, runNanos)));
            }
            long operations = 0;
            long fullHeap = 0;
            for (Future<long[]> result : results) {
                long[] counts = result.get(60, TimeUnit.SECONDS); // rethrows a worker's assertion failure
                operations += counts[0];
                fullHeap += counts[1];
            }
            System.out.println("ConcurrencyTest on " + capacity + " bytes: " + operations + " allocations, " + fullHeap
                    + " refused for lack of space");
            if (expectRefusals) {
                assertTrue(fullHeap > 0, "the heap never ran full: the test does not test what it says");
            }

            assertTrue(live.isEmpty(), "every thread freed its blocks: " + live.size() + " left");
            HeapStats end = heap.stats();
            assertEquals(start.usedBytes(), end.usedBytes());
            for (SizeClassStats c : end.sizeClasses()) {
                assertEquals(0, c.usedBlocks(), "class " + c.blockSize());
                assertEquals(c.allocations(), c.frees(), "class " + c.blockSize());
            }
            VerifyReport report = heap.verify();
            assertTrue(report.ok(), report.toString());
            // A live thread's current sets stay owned until it ends; trim gives back those of ended threads.
            pool.shutdown();
            assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS), "the workers ended");
            for (Thread worker : workers) {
                worker.join(); // awaitTermination can return while a worker thread is still exiting
            }
            heap.trim();
            assertEquals(heap.capacity(), heap.stats().buddyFreeBytes(), "after trim the buddy holds everything again");
            assertEquals(0.0, heap.stats().fragmentation(), "everything merged back into one block");
        } finally {
            pool.shutdownNow();
        }
    }

    /** Returns {allocations, refusals}. */
    private static long[] run(ShmHeap heap, int id, Map<Long, Integer> live, CyclicBarrier go, long runNanos) throws Exception {
        Random random = new Random(SEED + id);
        List<long[]> mine = new ArrayList<>(); // {offset, size, sequence}
        long sequence = 0;
        long refusals = 0;
        go.await();
        long deadline = System.nanoTime() + runNanos;
        while (sequence < MIN_OPERATIONS || System.nanoTime() - deadline < 0) {
            if (!mine.isEmpty() && (mine.size() >= MAX_LIVE_PER_THREAD || random.nextInt(100) < 45)) {
                freeChecked(heap, id, live, mine.remove(random.nextInt(mine.size())));
                continue;
            }
            long size = randomSize(random);
            long alignment = random.nextInt(8) == 0 ? 1L << random.nextInt(13) : ShmHeap.DEFAULT_ALIGNMENT;
            long offset = heap.tryAllocate(size, alignment);
            if (offset == ShmHeap.NO_SPACE) {
                refusals++;
                if (!mine.isEmpty()) {
                    freeChecked(heap, id, live, mine.remove(random.nextInt(mine.size())));
                }
                continue;
            }
            sequence++;
            Integer previous = live.putIfAbsent(offset, id);
            assertNull(previous, "thread " + id + ": offset " + offset + " handed out while thread " + previous + " holds it");
            assertEquals(0, offset % alignment, "thread " + id + ": offset " + offset + " alignment " + alignment);
            assertTrue(heap.usableSize(offset) >= size, "thread " + id + ": offset " + offset + " usable size");
            fill(heap, offset, size, pattern(id, sequence));
            mine.add(new long[] {offset, size, sequence});
            if (id == 0 && sequence % 500 == 0) {
                heap.trim(); // gives empty sets back while the others allocate from them
            }
            if (id == 1 && sequence % 700 == 0) {
                VerifyReport report = heap.verify();
                assertTrue(report.ok(), "thread " + id + " mid-run: " + report);
            }
        }
        for (long[] block : mine) {
            freeChecked(heap, id, live, block);
        }
        return new long[] {sequence, refusals};
    }

    /** Log-uniform over 64 B .. 256 KiB. */
    private static long randomSize(Random random) {
        int shift = 6 + random.nextInt(12);
        long size = (1L << shift) + random.nextInt(1 << shift);
        return Math.min(size, 256 * 1024);
    }

    private static long pattern(int id, long sequence) {
        return ((long) id << 56) ^ (sequence * 0x9E37_79B9_7F4A_7C15L);
    }

    private static void fill(ShmHeap heap, long offset, long size, long pattern) {
        long words = size / 8;
        for (long i = 0; i < words; i++) {
            heap.putLong(offset + i * 8, pattern + i);
        }
        for (long i = words * 8; i < size; i++) {
            heap.putByte(offset + i, (byte) pattern);
        }
    }

    private static void freeChecked(ShmHeap heap, int id, Map<Long, Integer> live, long[] block) {
        long offset = block[0];
        long size = block[1];
        long pattern = pattern(id, block[2]);
        long words = size / 8;
        for (long i = 0; i < words; i++) {
            long found = heap.getLong(offset + i * 8);
            if (found != pattern + i) {
                fail("thread " + id + ": block at offset " + offset + " (" + size + " bytes, sequence " + block[2] + ") clobbered at +"
                        + (i * 8) + ": found 0x" + Long.toHexString(found) + ", expected 0x" + Long.toHexString(pattern + i));
            }
        }
        for (long i = words * 8; i < size; i++) {
            assertEquals((byte) pattern, heap.getByte(offset + i), "thread " + id + ": block at offset " + offset + " clobbered at +" + i);
        }
        assertEquals(id, live.remove(offset), "thread " + id + ": offset " + offset + " owner");
        heap.free(offset);
    }
}
