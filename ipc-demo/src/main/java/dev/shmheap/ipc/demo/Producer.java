package dev.shmheap.ipc.demo;

import dev.shmheap.Backoff;
import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.MessageSender;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmClaim;
import dev.shmheap.ipc.ShmSender;
import dev.shmheap.ipc.internal.OpenHeap;

import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Sends {@code --count} messages of mixed sizes into a channel, then an end-of-stream message.
 * On a shared-memory channel each message is claimed with {@code ShmSender.tryClaim} and written
 * in place: inside the ring if it is short enough (inline), else in a heap block the claim
 * allocates (by offset; the consumer frees it); the slot length the channel was created with
 * decides which. When the ring or the heap is full it waits (counted as backpressure in the
 * summary). Over any other {@link MessageSender} it allocates and fills a heap block and offers
 * its offset.
 */
public final class Producer {
    static final String USAGE = "producer --heap PATH [--capacity 256m] [--channel demo] --id N [--count 100000]"
            + " [--min-size 64] [--max-size 64k] [--seed S] [--timeout-seconds 60] [--exclusive]";
    /** Bytes of pattern data payloads are copied from. */
    private static final int SOURCE_LENGTH = 1 << 17;
    /** Failed claims spent spinning before the producer starts to park. */
    private static final int SPINS_BEFORE_PARKING = 10_000;
    /** Longest pause while the ring or the heap is full: a waiting producer notices room within a millisecond. */
    private static final long MAX_PARK_NANOS = 1_000_000;

    private Producer() {
    }

    /** What one producer did. */
    record Result(int producer, long messages, long bytes, long nanos, long ringFullWaits, long heapFullWaits) {
        @Override
        public String toString() {
            double seconds = nanos / 1e9;
            return "producer " + producer + ": sent " + Units.count(messages) + " messages, " + Units.bytes(bytes) + " in "
                    + String.format(java.util.Locale.ROOT, "%.2f s", seconds) + " (" + Units.perSecond(messages / seconds) + " msg/s); waited for ring space "
                    + Units.count(ringFullWaits) + "x, for ring or heap space (long messages) " + Units.count(heapFullWaits) + "x";
        }
    }

    public static void main(String[] argv) throws Exception {
        Args args = Args.parse(argv, USAGE, "heap", "capacity", "channel", "id", "count", "min-size", "max-size", "seed",
                "timeout-seconds", "exclusive");
        if (!args.has("heap") || !args.has("id")) {
            throw new Args.UsageException("--heap and --id are required\n" + USAGE);
        }
        Path path = args.heapPath("demo");
        int id = args.getInt("id", 1);
        Duration timeout = Duration.ofSeconds(args.getLong("timeout-seconds", 60));
        SizeMix sizes = new SizeMix(args.getInt("min-size", 64), args.getInt("max-size", 64 << 10), args.getLong("seed", id));
        try (ShmHeap heap = OpenHeap.existingOrNew(path, args.getLong("capacity", 256L << 20))) {
            ShmChannel channel = ShmChannel.attach(heap, args.get("channel", "demo"), timeout);
            Result result;
            // --exclusive: the channel's only producer, as Aeron's exclusive publication (no CAS per claim)
            try (ShmSender sender = args.has("exclusive") ? channel.newExclusiveSender() : channel.newSender()) {
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
        if (sender instanceof ShmSender shm) {
            return runClaims(shm, id, count, sizes, timeout, source, waits);
        }
        DemoMessage.HeapSink sink = new DemoMessage.HeapSink(heap);
        long bytes = 0;
        long start = System.nanoTime();
        for (long sequence = 0; sequence < count; sequence++) {
            int length = sizes.next();
            long offset = allocate(heap, length, timeout, waits);
            int sourceIndex = (int) ((sequence * 7919) & (SOURCE_LENGTH / 2 - 1));
            DemoMessage.write(sink.at(offset), length, id, sequence, source, sourceIndex);
            send(heap, sink, sender, offset, length, timeout, waits);
            bytes += length;
        }
        long end = allocate(heap, DemoMessage.HEADER_LENGTH, timeout, waits);
        DemoMessage.writeEnd(sink.at(end), id, count);
        send(heap, sink, sender, end, DemoMessage.HEADER_LENGTH, timeout, waits);
        return new Result(id, count, bytes, System.nanoTime() - start, waits[0], waits[1]);
    }

    /**
     * The shared-memory form: every message claimed and written in place, inline or in a claimed
     * block, through the claim's accessors.
     */
    private static Result runClaims(ShmSender sender, int id, long count, SizeMix sizes, Duration timeout, byte[] source,
                                    long[] waits) {
        ShmClaim claim = new ShmClaim();
        DemoMessage.Sink sink = new DemoMessage.ClaimSink(claim);
        // The consumer frees a whole batch at once: room usually comes back within
        // microseconds, far sooner than the shortest park (about 50 us on Linux), so spin first.
        Backoff backoff = Backoff.of(timeout.toNanos(), SPINS_BEFORE_PARKING, 0, MAX_PARK_NANOS);
        long bytes = 0;
        long start = System.nanoTime();
        for (long sequence = 0; sequence < count; sequence++) {
            int length = sizes.next();
            claim(sender, claim, length, backoff, timeout, waits);
            int sourceIndex = (int) ((sequence * 7919) & (SOURCE_LENGTH / 2 - 1));
            DemoMessage.write(sink, length, id, sequence, source, sourceIndex);
            DemoMessage.stamp(sink);
            claim.commit();
            bytes += length;
        }
        claim(sender, claim, DemoMessage.HEADER_LENGTH, backoff, timeout, waits);
        DemoMessage.writeEnd(sink, id, count);
        DemoMessage.stamp(sink);
        claim.commit();
        return new Result(id, count, bytes, System.nanoTime() - start, waits[0], waits[1]);
    }

    /**
     * Claims room for {@code length} bytes, waiting with {@code backoff} (reset here: one
     * instance serves every wait of the run) while the ring (or, for a long message, the heap) is full.
     */
    private static void claim(ShmSender sender, ShmClaim claim, int length, Backoff backoff, Duration timeout, long[] waits) {
        if (sender.tryClaim(length, claim)) {
            return;
        }
        waits[length <= sender.channel().inlineCapacity() ? 0 : 1]++;
        backoff.reset();
        while (!sender.tryClaim(length, claim)) {
            if (!backoff.idle()) {
                throw new IllegalStateException("no room for a " + length + "-byte message on channel '" + sender.channel().name()
                        + "' for " + timeout + ": is the consumer running? " + sender.channel().stats());
            }
        }
    }

    private static long allocate(ShmHeap heap, int length, Duration timeout, long[] waits) {
        long offset = heap.tryAllocate(length, ShmHeap.DEFAULT_ALIGNMENT);
        if (offset != ShmHeap.NO_SPACE) {
            return offset;
        }
        waits[1]++;
        Backoff backoff = Backoff.of(timeout.toNanos(), 0, 0, MAX_PARK_NANOS);
        while ((offset = heap.tryAllocate(length, ShmHeap.DEFAULT_ALIGNMENT)) == ShmHeap.NO_SPACE) {
            if (!backoff.idle()) {
                throw new IllegalStateException("heap " + heap.path() + " stayed full for " + timeout + ": cannot allocate " + length
                        + " bytes; " + heap.stats());
            }
        }
        return offset;
    }

    private static void send(ShmHeap heap, DemoMessage.HeapSink sink, MessageSender sender, long offset, int length, Duration timeout,
                             long[] waits) throws InterruptedException {
        DemoMessage.stamp(sink.at(offset));
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
