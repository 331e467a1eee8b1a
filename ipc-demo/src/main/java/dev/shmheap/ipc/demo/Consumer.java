package dev.shmheap.ipc.demo;

import dev.shmheap.HeapStats;
import dev.shmheap.ShmHeap;
import dev.shmheap.VerifyReport;
import dev.shmheap.ipc.ChannelStats;
import dev.shmheap.ipc.Message;
import dev.shmheap.ipc.MessageReader;
import dev.shmheap.ipc.MessageReceiver;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmReceiver;
import dev.shmheap.ipc.internal.OpenHeap;
import org.HdrHistogram.Histogram;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Creates the channel, receives until every producer has sent its end-of-stream message,
 * checks each message in place (magic, checksum, per-producer order: no loss, no duplicate),
 * and prints throughput, one-way latency, how many messages travelled inline and how many by
 * offset, and the heap's usage before and after. On a shared-memory channel it reads in
 * batches with {@code ShmReceiver.read}: inline messages are checked inside the ring, offset
 * blocks are freed by the receiver once per batch.
 * Exits with status 0 only if every message arrived intact and the heap is back where it started.
 */
public final class Consumer {
    static final String USAGE = "consumer --heap PATH [--capacity 256m] [--channel demo] [--slots 8192] [--slot-length 32]"
            + " --producers N [--timeout-seconds 120]";
    private static final int MAX_REPORTED_ERRORS = 10;
    /** Longest latency the histogram tells apart; longer ones count as this. */
    static final long MAX_LATENCY_NANOS = TimeUnit.MINUTES.toNanos(10);
    /** Most messages one read hands over before head is stored and the batch's blocks freed. */
    static final int BATCH = 64;

    private Consumer() {
    }

    /** What the consumer saw. */
    static final class Result {
        /** Sized once for every latency up to {@link #MAX_LATENCY_NANOS}: an auto-resizing one would allocate as latencies grow. */
        final Histogram latency = new Histogram(MAX_LATENCY_NANOS, 3);
        final NextSequences nextSequence = new NextSequences();
        final Map<Integer, Long> announced = new HashMap<>();
        final List<String> errors = new ArrayList<>();
        long errorCount;
        long messages;
        long inline;
        long byOffset;
        long bytes;
        long checksumFailures;
        long lost;
        long duplicates;
        long firstNanos;
        long lastNanos;
        boolean timedOut;

        boolean ok(int producers) {
            return errorCount == 0 && !timedOut && announced.size() == producers;
        }

        double seconds() {
            return Math.max(1, lastNanos - firstNanos) / 1e9;
        }

        void error(String message) {
            errorCount++;
            if (errors.size() < MAX_REPORTED_ERRORS) {
                errors.add(message);
            }
        }
    }

    public static void main(String[] argv) throws Exception {
        Args args = Args.parse(argv, USAGE, "heap", "capacity", "channel", "slots", "slot-length", "producers",
                "timeout-seconds");
        if (!args.has("heap") || !args.has("producers")) {
            throw new Args.UsageException("--heap and --producers are required\n" + USAGE);
        }
        System.exit(run(args.heapPath("demo"), args.getLong("capacity", 256L << 20), args.get("channel", "demo"),
                args.slots(), args.slotLength(), args.getInt("producers", 2),
                Duration.ofSeconds(args.getLong("timeout-seconds", 120)), null));
    }

    /**
     * The whole consumer side; {@code onReady} (may be null) runs once the channel exists, for
     * drivers that start the producers themselves.
     *
     * @return the exit status: 0 if everything arrived intact and nothing leaked
     */
    static int run(Path path, long capacity, String channelName, int slots, int slotLength, int producers, Duration timeout,
                   Runnable onReady) throws Exception {
        return measure(path, capacity, channelName, slots, slotLength, producers, timeout, onReady).status();
    }

    /** What {@link #measure} found: the exit status and what was received. */
    record Outcome(int status, Result result) {
    }

    /** {@link #run}, returning what was received as well. */
    static Outcome measure(Path path, long capacity, String channelName, int slots, int slotLength, int producers, Duration timeout,
                           Runnable onReady) throws Exception {
        try (ShmHeap heap = OpenHeap.existingOrNew(path, capacity)) {
            HeapStats before = heap.stats();
            System.out.println("consumer: heap " + path + " (" + Units.bytes(heap.capacity()) + "); before: " + Units.heap(before));
            ShmChannel channel = ShmChannel.create(heap, channelName, slots, slotLength);
            Result result;
            ChannelStats channelStats;
            long leftover;
            try (ShmReceiver receiver = channel.newReceiver()) {
                System.out.println("consumer: channel '" + channelName + "' (" + slots + " slots of " + slotLength + " B, inline up to "
                        + channel.inlineCapacity() + " B) ready; waiting for " + producers + " producers");
                if (onReady != null) {
                    onReady.run();
                }
                result = receive(heap, receiver, producers, timeout);
                channelStats = channel.stats();
            } finally {
                leftover = channel.destroy(Duration.ofSeconds(10));
            }
            HeapStats after = heap.stats();
            VerifyReport report = heap.verify();
            boolean clean = after.usedBytes() == before.usedBytes() && report.ok();
            print(result, producers, channelStats, leftover);
            System.out.println("  heap after: " + Units.heap(after) + " (before: used " + Units.count(before.usedBytes()) + " B) -> "
                    + (after.usedBytes() == before.usedBytes() ? "nothing leaked" : "LEAKED " + (after.usedBytes() - before.usedBytes()) + " B")
                    + "; verify: " + report);
            boolean pass = result.ok(producers) && clean && leftover == 0;
            System.out.println("RESULT: " + (pass ? "PASS" : "FAIL"));
            return new Outcome(pass ? 0 : 1, result);
        }
    }

    /** Receives until {@code producers} end-of-stream messages arrived or {@code timeout} passes without progress. */
    static Result receive(ShmHeap heap, MessageReceiver receiver, int producers, Duration timeout) throws InterruptedException {
        if (receiver instanceof ShmReceiver shm) {
            return read(heap, shm, producers, timeout);
        }
        Result result = new Result();
        DemoMessage.HeapView view = new DemoMessage.HeapView(heap);
        long idleDeadline = System.nanoTime() + timeout.toNanos();
        while (result.announced.size() < producers) {
            Optional<Message> polled;
            try {
                polled = receiver.poll(100, TimeUnit.MILLISECONDS);
            } catch (IllegalStateException e) {
                result.error(e.getMessage());
                continue;
            }
            long now = System.nanoTime();
            if (polled.isEmpty()) {
                if (now - idleDeadline >= 0) {
                    result.timedOut = true;
                    result.error("no message for " + timeout + "; end-of-stream from " + result.announced.keySet() + " of " + producers
                            + " producers");
                    break;
                }
                continue;
            }
            idleDeadline = now + timeout.toNanos();
            Message message = polled.get();
            result.byOffset++;
            check(view.at(message.offset()), message.offset(), message.length(), result, now);
            heap.free(message.offset());
        }
        return finish(result);
    }

    /**
     * The shared-memory form of {@link #receive}: reads up to {@link #BATCH} messages at a time in
     * place, inline or by offset, through the receiver's accessors; the receiver frees the offset
     * blocks after each batch.
     */
    private static Result read(ShmHeap heap, ShmReceiver receiver, int producers, Duration timeout) throws InterruptedException {
        Result result = new Result();
        DemoMessage.View view = new DemoMessage.ReceiverView(receiver);
        long idleDeadline = System.nanoTime() + timeout.toNanos();
        // Receipt time: read once per batch, at its first message (a clock read costs about as
        // much as checking a 64-byte message); the batch's later messages are checked within
        // microseconds of it.
        long[] batchClock = {0};
        MessageReader reader = (offset, length, inline) -> {
            if (inline) {
                result.inline++;
            } else {
                result.byOffset++;
            }
            if (batchClock[0] == 0) {
                batchClock[0] = System.nanoTime();
            }
            check(view, offset, length, result, batchClock[0]);
            return false;
        };
        while (result.announced.size() < producers) {
            int read;
            try {
                batchClock[0] = 0;
                read = receiver.read(reader, BATCH, 100, TimeUnit.MILLISECONDS);
            } catch (IllegalStateException e) {
                result.error(e.getMessage());
                continue;
            }
            long now = System.nanoTime();
            if (read > 0) {
                idleDeadline = now + timeout.toNanos();
            } else if (now - idleDeadline >= 0) {
                result.timedOut = true;
                result.error("no message for " + timeout + "; end-of-stream from " + result.announced.keySet() + " of " + producers
                        + " producers");
                break;
            }
        }
        return finish(result);
    }

    /** Counts what the end-of-stream messages announced but did not arrive. */
    private static Result finish(Result result) {
        for (Map.Entry<Integer, Long> end : result.announced.entrySet()) {
            long received = result.nextSequence.get(end.getKey());
            if (received != end.getValue()) {
                result.lost += Math.max(0, end.getValue() - received);
                result.error("producer " + end.getKey() + " announced " + end.getValue() + " messages, " + received + " arrived in order");
            }
        }
        return result;
    }

    /** Checks one message of {@code length} bytes read through {@code message}; {@code offset} only names it in errors. */
    private static void check(DemoMessage.View message, long offset, long length, Result result, long now) {
        if (length < DemoMessage.HEADER_LENGTH || DemoMessage.magic(message) != DemoMessage.MAGIC) {
            result.error("message at offset " + offset + " (length " + length + ") is not a demo message");
            return;
        }
        int producer = DemoMessage.producer(message);
        long sequence = DemoMessage.sequence(message);
        boolean end = (DemoMessage.flags(message) & DemoMessage.FLAG_END) != 0;
        if (!DemoMessage.checksumOk(message, length)) {
            result.checksumFailures++;
            result.error("checksum mismatch: producer " + producer + " sequence " + sequence + " at offset " + offset + ", length " + length);
            return;
        }
        if (end) {
            if (result.announced.putIfAbsent(producer, sequence) != null) {
                result.duplicates++;
                result.error("second end-of-stream from producer " + producer);
            }
            return;
        }
        long expected = result.nextSequence.get(producer);
        if (sequence < expected) {
            result.duplicates++;
            result.error("producer " + producer + ": sequence " + sequence + " after " + (expected - 1) + " (duplicate or reordered)");
            return;
        }
        if (sequence > expected) {
            result.lost += sequence - expected;
            result.error("producer " + producer + ": sequence " + sequence + " where " + expected + " was expected (lost "
                    + (sequence - expected) + ")");
        }
        result.nextSequence.put(producer, sequence + 1);
        if (result.messages == 0) {
            result.firstNanos = DemoMessage.sendNanos(message);
        }
        result.messages++;
        result.bytes += length;
        result.lastNanos = now;
        result.latency.recordValue(Math.min(MAX_LATENCY_NANOS, Math.max(0, now - DemoMessage.sendNanos(message))));
    }

    static void print(Result result, int producers, ChannelStats channel, long leftover) {
        double seconds = result.seconds();
        System.out.println("consumer: received " + Units.count(result.messages) + " messages (" + Units.bytes(result.bytes) + ") from "
                + result.announced.size() + "/" + producers + " producers in " + String.format(Locale.ROOT, "%.2f s", seconds)
                + " (first send to last receipt)");
        System.out.println("  throughput: " + Units.perSecond(result.messages / seconds) + " msg/s, "
                + String.format(Locale.ROOT, "%,.1f MB/s", result.bytes / seconds / 1e6));
        System.out.println("  one-way latency (send stamp to receipt, includes queueing): " + Units.percentiles(result.latency));
        System.out.println("  checks: checksum failures " + result.checksumFailures + ", lost " + result.lost + ", duplicates/reordered "
                + result.duplicates + ", errors " + result.errorCount + (result.timedOut ? ", TIMED OUT" : ""));
        for (String error : result.errors) {
            System.out.println("    error: " + error);
        }
        System.out.println("  messages: " + Units.count(channel.inlineMessages()) + " inline (in the ring, up to "
                + channel.inlineCapacity() + " B), " + Units.count(channel.offsetMessages()) + " by offset (in heap blocks)");
        System.out.println("  channel: " + channel.capacity() + " slots of " + channel.slotLength() + " B, positions used "
                + Units.count(channel.tail())
                + ", skipped slots " + channel.skippedSlots() + ", consumer futex sleeps " + Units.count(channel.futexWaits())
                + ", producer wakes " + Units.count(channel.futexWakes()) + ", undelivered messages freed at close " + leftover);
    }
}
