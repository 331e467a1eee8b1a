package dev.shmheap.ipc.demo;

import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmReceiver;
import dev.shmheap.ipc.ShmSender;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The demo's hot path allocates nothing per message, on either side, with every check still
 * made (CRC32C, order, end of stream): the bytes a producer and a consumer thread allocate for
 * a long run exceed those of a short run by less than a byte per extra message. (A run has
 * fixed costs: the histogram, the producer's pattern source, result objects; comparing two
 * runs cancels them.) Before the checksum and buffer were reused, each side allocated a
 * CRC32C and a 12-byte buffer per message, and the consumer a Long per message.
 */
class HotPathAllocationTest {
    private static final int SIZE = 64;
    private static final long SHORT_RUN = 20_000;
    private static final long LONG_RUN = 220_000;
    private static final int RING_SLOTS = 8192;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    @Test
    void shouldAllocateNothingPerMessageOnEitherSide() throws Exception {
        Path path = Args.defaultDirectory().resolve("shmheap-ipc-alloctest-" + ProcessHandle.current().pid() + ".heap");
        ExecutorService producerThread = Executors.newSingleThreadExecutor();
        try (ShmHeap heap = ShmHeap.create(path, 16L << 20)) {
            run(heap, producerThread, SHORT_RUN); // warm-up: compiled code for both measured runs
            long[] shortRun = run(heap, producerThread, SHORT_RUN);
            long[] longRun = run(heap, producerThread, LONG_RUN);
            double extra = LONG_RUN - SHORT_RUN;
            double producerPerMessage = (longRun[0] - shortRun[0]) / extra;
            double consumerPerMessage = (longRun[1] - shortRun[1]) / extra;
            assertTrue(producerPerMessage < 1, "producer allocated " + producerPerMessage + " B per message");
            assertTrue(consumerPerMessage < 1, "consumer allocated " + consumerPerMessage + " B per message");
            assertEquals(0, heap.stats().usedBytes());
        } finally {
            producerThread.shutdownNow();
            Files.deleteIfExists(path);
        }
    }

    /** One checked run of {@code count} messages; returns the bytes the producer and the consumer thread allocated. */
    private static long[] run(ShmHeap heap, ExecutorService producerThread, long count) throws Exception {
        // 256 KiB of ring, as the throughput command's: a consumer that sleeps in FUTEX_WAIT less
        // often (each sleep is a JNA call, which allocates: per wait, not per message)
        ShmChannel channel = ShmChannel.create(heap, "alloc", RING_SLOTS);
        long[] allocated = new long[2];
        try (ShmReceiver receiver = channel.newReceiver(); ShmSender sender = channel.newSender()) {
            Future<Producer.Result> produced = producerThread.submit(() -> {
                long before = THREADS.getCurrentThreadAllocatedBytes();
                Producer.Result result = Producer.run(heap, sender, 1, count, new SizeMix(SIZE, SIZE, 1), Duration.ofSeconds(30));
                allocated[0] = THREADS.getCurrentThreadAllocatedBytes() - before;
                return result;
            });
            long before = THREADS.getCurrentThreadAllocatedBytes();
            Consumer.Result result = Consumer.receive(heap, receiver, 1, Duration.ofSeconds(30));
            allocated[1] = THREADS.getCurrentThreadAllocatedBytes() - before;
            assertEquals(count, produced.get().messages());
            assertTrue(result.ok(1), () -> "errors: " + result.errors);
            assertEquals(count, result.messages);
            assertEquals(0, result.checksumFailures + result.lost + result.duplicates);
        }
        assertEquals(0, channel.destroy(Duration.ofSeconds(5)));
        return allocated;
    }
}
