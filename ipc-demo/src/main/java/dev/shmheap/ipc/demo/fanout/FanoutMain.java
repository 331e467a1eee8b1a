package dev.shmheap.ipc.demo.fanout;

import dev.shmheap.ipc.demo.CommandLine;
import dev.shmheap.ipc.fanout.FanoutChannel;
import dev.shmheap.ipc.fanout.FanoutPublisher;
import dev.shmheap.ipc.fanout.FanoutSubscriber;
import dev.shmheap.ipc.fanout.FanoutStats;
import dev.shmheap.ipc.fanout.FanoutHandler;
import dev.shmheap.HeapStats;
import dev.shmheap.ShmHeap;
import dev.shmheap.VerifyReport;
import dev.shmheap.ipc.internal.OpenHeap;
import org.HdrHistogram.Histogram;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The fan-out commands ({@code java -jar ipc-demo.jar fanout publisher|subscriber ...}) that
 * {@code scripts/fanout.sh} and the multi-process tests run.
 * <ul>
 *   <li>{@code publisher}: creates the heap (if needed) and the channel, waits for
 *       {@code --subscribers} to join, publishes {@code --count} messages, closes the stream,
 *       waits for the live subscribers to read everything and leave, destroys the channel and
 *       checks that the heap's used bytes are back where they were before the channel existed.
 *       Prints {@code RESULT: PASS} and exits 0 only then.</li>
 *   <li>{@code subscriber}: joins, checks every message in place (sequence = channel position,
 *       so none lost, duplicated or reordered; checksum), prints throughput and latency, exits 0
 *       if all was intact. {@code --stall-after N} stops reading after N messages and prints
 *       {@code STALLED} (the script then kills it with SIGKILL).</li>
 * </ul>
 */
public final class FanoutMain {
    public static final String USAGE = "fanout publisher --heap PATH [--capacity 64m] [--channel fan] [--slots 1024] [--count 100000]"
            + " [--size 256] [--subscribers 3] [--timeout-seconds 60]\n"
            + "       fanout subscriber --heap PATH [--channel fan] [--stall-after N] [--timeout-seconds 60]";
    private static final int POLL_LIMIT = 256;
    private static final long PROGRESS_EVERY = 1 << 16;

    private FanoutMain() {
    }

    public static void main(String[] args) throws Exception {
        int status;
        try {
            status = run(args);
        } catch (IllegalArgumentException e) {
            System.err.println("fanout: " + e.getMessage());
            status = 2;
        }
        System.exit(status);
    }

    static int run(String[] args) throws Exception {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: " + USAGE);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        return switch (args[0]) {
            case "publisher" -> publisher(CommandLine.parse(rest, USAGE, "heap", "capacity", "channel", "slots", "count", "size",
                    "subscribers", "timeout-seconds"));
            case "subscriber" -> subscriber(CommandLine.parse(rest, USAGE, "heap", "channel", "stall-after", "timeout-seconds"));
            default -> throw new IllegalArgumentException("unknown fanout command '" + args[0] + "'\nusage: " + USAGE);
        };
    }

    static int publisher(CommandLine args) throws Exception {
        Path path = Path.of(args.require("heap"));
        long count = args.getLong("count", 100_000);
        int size = args.getInt("size", 256);
        int subscribers = args.getInt("subscribers", 3);
        Duration timeout = Duration.ofSeconds(args.getLong("timeout-seconds", 60));
        String name = args.get("channel", "fan");
        try (ShmHeap heap = OpenHeap.existingOrNew(path, args.getLong("capacity", 64L << 20))) {
            HeapStats before = heap.stats();
            FanoutChannel channel = FanoutChannel.create(heap, name, args.getInt("slots", 1024));
            System.out.println("publisher: channel '" + name + "' ready in " + path + "; heap used before: " + before.usedBytes() + " B");
            long start;
            long leftover;
            FanoutStats stats;
            long backpressured;
            boolean drained;
            try (FanoutPublisher publisher = channel.newPublisher()) {
                awaitSubscribers(channel, subscribers, timeout);
                System.out.println("publisher: " + subscribers + " subscribers joined; publishing " + count + " messages of " + size + " B");
                byte[] scratch = new byte[Math.max(0, size - FanoutMessage.HEADER_LENGTH)];
                start = System.nanoTime();
                for (long i = 0; i < count; i++) {
                    long sequence = publisher.position();
                    long offset = FanoutMessage.allocate(heap, sequence, size, scratch);
                    if (!publisher.offerTrusted(offset, size) && !publisher.offer(offset, size, timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                        heap.free(offset);
                        throw new IllegalStateException("the ring stayed full for " + timeout + " at message " + i + ": " + channel.stats());
                    }
                    if ((i + 1) % PROGRESS_EVERY == 0) {
                        System.out.println("PUBLISHED " + (i + 1));
                    }
                }
                drained = publisher.drain(timeout.toNanos(), TimeUnit.NANOSECONDS);
                backpressured = publisher.backpressured();
            }
            long nanos = System.nanoTime() - start;
            stats = channel.stats();
            leftover = channel.destroy(timeout);
            HeapStats after = heap.stats();
            VerifyReport report = heap.verify();
            boolean baseline = after.usedBytes() == before.usedBytes();
            System.out.printf(Locale.ROOT, "publisher: %d messages to every subscriber in %.2f s until the slowest had read all: %,.0f msg/s"
                    + " (%.1f MB/s published); ring full %d times%n", count, nanos / 1e9, count / (nanos / 1e9),
                    count * (double) size / (nanos / 1e3), backpressured);
            System.out.println("publisher: channel " + stats + "; dead subscribers dropped: " + stats.dropped()
                    + "; undelivered freed at destroy: " + leftover);
            System.out.println("publisher: heap used after: " + after.usedBytes() + " B (before " + before.usedBytes() + " B) -> "
                    + (baseline ? "back at baseline" : "LEAKED " + (after.usedBytes() - before.usedBytes()) + " B") + "; verify: " + report);
            boolean pass = drained && baseline && report.ok();
            System.out.println("RESULT: " + (pass ? "PASS" : "FAIL"));
            return pass ? 0 : 1;
        }
    }

    private static void awaitSubscribers(FanoutChannel channel, int subscribers, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (channel.stats().subscribers() < subscribers) {
            if (System.nanoTime() - deadline >= 0) {
                throw new IllegalStateException("only " + channel.stats().subscribers() + " of subscribers=" + subscribers + " joined within "
                        + timeout);
            }
            Thread.sleep(1);
        }
    }

    static int subscriber(CommandLine args) throws Exception {
        Path path = Path.of(args.require("heap"));
        long stallAfter = args.getLong("stall-after", -1);
        Duration timeout = Duration.ofSeconds(args.getLong("timeout-seconds", 60));
        try (ShmHeap heap = ShmHeap.open(path)) {
            FanoutChannel channel = FanoutChannel.attach(heap, args.get("channel", "fan"), timeout);
            try (FanoutSubscriber subscriber = channel.newSubscriber()) {
                long pid = ProcessHandle.current().pid();
                System.out.println("JOINED " + subscriber.index() + " at position " + subscriber.position() + " (pid " + pid + ")");
                Checker checker = new Checker(heap, subscriber.position());
                FanoutHandler handler = checker::onMessage;
                long idleDeadline = System.nanoTime() + timeout.toNanos();
                while (!subscriber.endOfStream()) {
                    int limit = stallAfter < 0 ? POLL_LIMIT : (int) Math.min(POLL_LIMIT, stallAfter - checker.received);
                    if (limit == 0) {
                        System.out.println("STALLED after " + checker.received + " messages (pid " + pid + ")");
                        System.out.flush();
                        Thread.sleep(timeout.toMillis());
                        System.out.println("subscriber: never killed while stalled");
                        return 1;
                    }
                    int handed = subscriber.poll(handler, limit, 100, TimeUnit.MILLISECONDS);
                    long now = System.nanoTime();
                    if (handed > 0) {
                        idleDeadline = now + timeout.toNanos();
                    } else if (now - idleDeadline >= 0) {
                        checker.error("no message for " + timeout + " at position " + subscriber.position());
                        break;
                    }
                }
                double seconds = Math.max(1, checker.lastNanos - checker.firstNanos) / 1e9;
                System.out.printf(Locale.ROOT, "subscriber pid %d (entry %d): received %d messages (positions %d..%d) in %.2f s: %,.0f msg/s; latency"
                                + " (publish to read) p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us; errors %d%s%n",
                        pid, subscriber.index(), checker.received, checker.first, checker.expected, seconds, checker.received / seconds,
                        checker.latency.getValueAtPercentile(50) / 1e3, checker.latency.getValueAtPercentile(99) / 1e3,
                        checker.latency.getValueAtPercentile(99.9) / 1e3, checker.latency.getMaxValue() / 1e3, checker.errors,
                        checker.firstError == null ? "" : " (first: " + checker.firstError + ")");
                return checker.errors == 0 ? 0 : 1;
            }
        }
    }

    /** Checks each message in place: its sequence must be the channel position it arrived at. */
    static final class Checker {
        final ShmHeap heap;
        final Histogram latency = new Histogram(3);
        final long first;
        long expected;
        long received;
        long errors;
        String firstError;
        long firstNanos;
        long lastNanos;

        Checker(ShmHeap heap, long first) {
            this.heap = heap;
            this.first = first;
            this.expected = first;
        }

        void onMessage(long position, long offset, long length) {
            long now = System.nanoTime();
            String problem = position != expected ? "position=" + position + " where " + expected + " was expected"
                    : FanoutMessage.check(heap, offset, length, position);
            if (problem != null) {
                error(problem);
            } else {
                long sent = heap.getLong(offset + FanoutMessage.SEND_NANOS_OFFSET);
                latency.recordValue(Math.max(0, now - sent));
                if (received == 0) {
                    firstNanos = sent;
                }
            }
            expected = position + 1;
            received++;
            lastNanos = now;
        }

        void error(String problem) {
            if (errors++ == 0) {
                firstError = problem;
            }
        }
    }
}
