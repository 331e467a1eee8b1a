package dev.shmheap.ipc.demo;

import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.MessageSender;
import dev.shmheap.ipc.ShmChannel;

import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Sends {@code --count} messages of mixed sizes into a channel, then an end-of-stream message.
 * Each message is a heap block this process allocates and fills; the consumer frees it.
 * When the heap is full it waits for the consumer to free blocks; when the ring is full it
 * waits for slots (both count as backpressure in the summary).
 */
public final class Producer {
    static final String USAGE = "producer --heap PATH [--capacity 256m] [--channel demo] --id N [--count 100000]"
            + " [--min-size 64] [--max-size 64k] [--seed S] [--timeout-seconds 60]";
    /** Bytes of pattern data payloads are copied from. */
    private static final int SOURCE_LENGTH = 1 << 17;

    private Producer() {
    }

    /** What one producer did. */
    record Result(int producer, long messages, long bytes, long nanos, long ringFullWaits, long heapFullWaits) {
        @Override
        public String toString() {
            double seconds = nanos / 1e9;
            return "producer " + producer + ": sent " + Units.count(messages) + " messages, " + Units.bytes(bytes) + " in "
                    + String.format(java.util.Locale.ROOT, "%.2f s", seconds) + " (" + Units.perSecond(messages / seconds) + " msg/s); waited for ring space "
                    + Units.count(ringFullWaits) + "x, for heap space " + Units.count(heapFullWaits) + "x";
        }
    }

    public static void main(String[] argv) throws Exception {
        Args args = Args.parse(argv, USAGE, "heap", "capacity", "channel", "id", "count", "min-size", "max-size", "seed",
                "timeout-seconds");
        if (!args.has("heap") || !args.has("id")) {
            throw new Args.UsageException("--heap and --id are required\n" + USAGE);
        }
        Path path = args.heapPath("demo");
        int id = args.getInt("id", 1);
        Duration timeout = Duration.ofSeconds(args.getLong("timeout-seconds", 60));
        SizeMix sizes = new SizeMix(args.getInt("min-size", 64), args.getInt("max-size", 64 << 10), args.getLong("seed", id));
        try (ShmHeap heap = ShmHeap.openOrCreate(path, args.getLong("capacity", 256L << 20))) {
            ShmChannel channel = ShmChannel.attach(heap, args.get("channel", "demo"), timeout);
            Result result;
            try (MessageSender sender = channel.newSender()) {
                result = run(heap, sender, id, args.getLong("count", 100_000), sizes, timeout);
            }
            System.out.println(result);
        }
    }

    /**
     * Sends {@code count} data messages and one end-of-stream message.
     *
     * @throws IllegalStateException if the heap or the ring stays full for {@code timeout}
     */
    static Result run(ShmHeap heap, MessageSender sender, int id, long count, SizeMix sizes, Duration timeout)
            throws InterruptedException {
        byte[] source = new byte[SOURCE_LENGTH];
        new SplittableRandom(0x5eed_0000L + id).nextBytes(source);
        long[] waits = new long[2];
        long bytes = 0;
        long start = System.nanoTime();
        for (long sequence = 0; sequence < count; sequence++) {
            int length = sizes.next();
            long offset = allocate(heap, length, timeout, waits);
            int sourceIndex = (int) ((sequence * 7919) & (SOURCE_LENGTH / 2 - 1));
            DemoMessage.write(heap, offset, length, id, sequence, source, sourceIndex);
            send(heap, sender, offset, length, timeout, waits);
            bytes += length;
        }
        long end = allocate(heap, DemoMessage.HEADER_LENGTH, timeout, waits);
        DemoMessage.writeEnd(heap, end, id, count);
        send(heap, sender, end, DemoMessage.HEADER_LENGTH, timeout, waits);
        return new Result(id, count, bytes, System.nanoTime() - start, waits[0], waits[1]);
    }

    private static long allocate(ShmHeap heap, int length, Duration timeout, long[] waits) {
        long offset = heap.tryAllocate(length, ShmHeap.DEFAULT_ALIGNMENT);
        if (offset != ShmHeap.NO_SPACE) {
            return offset;
        }
        waits[1]++;
        long deadline = System.nanoTime() + timeout.toNanos();
        long park = 10_000;
        while ((offset = heap.tryAllocate(length, ShmHeap.DEFAULT_ALIGNMENT)) == ShmHeap.NO_SPACE) {
            if (System.nanoTime() - deadline >= 0) {
                throw new IllegalStateException("heap " + heap.path() + " stayed full for " + timeout + ": cannot allocate " + length
                        + " bytes; " + heap.stats());
            }
            LockSupport.parkNanos(park);
            park = Math.min(park * 2, 1_000_000);
        }
        return offset;
    }

    private static void send(ShmHeap heap, MessageSender sender, long offset, int length, Duration timeout, long[] waits)
            throws InterruptedException {
        DemoMessage.stamp(heap, offset);
        if (sender.offer(offset, length)) {
            return;
        }
        waits[0]++;
        if (!sender.offer(offset, length, timeout.toNanos(), TimeUnit.NANOSECONDS)) {
            heap.free(offset);
            throw new IllegalStateException("the channel stayed full for " + timeout + ": is the consumer running?");
        }
    }
}
