package dev.shmheap.ipc.demo;

import dev.shmheap.HeapStats;
import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.ChannelStats;
import dev.shmheap.ipc.Message;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmReceiver;
import dev.shmheap.ipc.ShmSender;
import org.HdrHistogram.Histogram;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Round-trip latency between two JVMs over two channels ("ping" and "pong"). This process
 * allocates a block, writes a sequence number, offers it on "ping"; the child JVM receives it
 * and offers the <em>same block</em> back on "pong" (zero copy both ways); this process checks
 * it, records the round trip and frees the block.
 *
 * <p>Modes: {@code spin} polls without ever sleeping (both processes keep a core busy);
 * {@code block} uses the blocking poll (brief spin, yield, then futex sleep), which is what a
 * consumer that must not burn a core would use.
 */
public final class PingPong {
    static final String USAGE = "pingpong [--heap PATH] [--size 64] [--count 100000] [--warmup 20000] [--mode spin|block]";
    private static final long STOP = -1;
    private static final long IDLE_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(30);

    private PingPong() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = Args.parse(argv, USAGE + "\n(internal: --pong --heap PATH --mode M runs the echo side)", "heap", "size", "count",
                "warmup", "mode", "pong");
        String mode = args.get("mode", "spin");
        if (!mode.equals("spin") && !mode.equals("block")) {
            throw new Args.UsageException("--mode must be spin or block: " + mode);
        }
        if (args.has("pong")) {
            pong(Path.of(args.get("heap", "")), mode.equals("spin"));
        } else {
            System.exit(ping(args, mode));
        }
    }

    private static int ping(Args args, String mode) throws Exception {
        Path path = args.heapPath("pingpong");
        boolean ownHeap = !args.has("heap") && !Files.exists(path);
        int size = args.getInt("size", 64);
        long count = args.getLong("count", 100_000);
        long warmup = args.getLong("warmup", 20_000);
        boolean spin = mode.equals("spin");
        if (size < 2 * Long.BYTES) {
            throw new Args.UsageException("--size must be at least 16: " + size);
        }
        Process child = null;
        try (ShmHeap heap = ShmHeap.openOrCreate(path, 64L << 20)) {
            HeapStats before = heap.stats();
            ShmChannel ping = ShmChannel.create(heap, "ping", 1024);
            ShmChannel pong = ShmChannel.create(heap, "pong", 1024);
            Histogram rtt = new Histogram(3);
            ChannelStats pingStats;
            ChannelStats pongStats;
            try (ShmReceiver receiver = pong.newReceiver(); ShmSender sender = ping.newSender()) {
                child = ChildJvm.start(PingPong.class, List.of("-Xmx128m"), List.of("--pong", "--heap", path.toString(), "--mode", mode));
                System.out.println("pingpong: " + size + "-byte messages, " + Units.count(count) + " round trips after "
                        + Units.count(warmup) + " warm-up, mode " + mode + ", heap " + path);
                for (long i = 0; i < warmup + count; i++) {
                    long block = heap.allocate(size);
                    heap.putLong(block, i);
                    long start = System.nanoTime();
                    while (!sender.offer(block, size)) {
                        Thread.onSpinWait();
                    }
                    Message back = receive(receiver, spin, i == 0 ? TimeUnit.SECONDS.toNanos(30) : IDLE_LIMIT_NANOS);
                    long elapsed = System.nanoTime() - start;
                    if (back.offset() != block || heap.getLong(block) != i) {
                        throw new IllegalStateException("round trip " + i + " returned offset " + back.offset() + " holding "
                                + heap.getLong(back.offset()) + "; sent offset " + block);
                    }
                    heap.free(block);
                    if (i >= warmup) {
                        rtt.recordValue(elapsed);
                    }
                }
                long stop = heap.allocate(size);
                heap.putLong(stop, STOP);
                if (!sender.offer(stop, size, 10, TimeUnit.SECONDS)) {
                    heap.free(stop);
                }
                if (!child.waitFor(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the pong JVM did not exit");
                }
                pingStats = ping.stats();
                pongStats = pong.stats();
            }
            ping.destroy(Duration.ofSeconds(5));
            pong.destroy(Duration.ofSeconds(5));
            System.out.println("  round trip:            " + Units.percentiles(rtt));
            Histogram oneWay = new Histogram(3);
            for (org.HdrHistogram.HistogramIterationValue v : rtt.recordedValues()) {
                oneWay.recordValueWithCount(v.getValueIteratedTo() / 2, v.getCountAtValueIteratedTo());
            }
            System.out.println("  one way (round trip/2): " + Units.percentiles(oneWay));
            System.out.println("  futex sleeps: pong side " + Units.count(pingStats.futexWaits()) + ", ping side "
                    + Units.count(pongStats.futexWaits()) + "; heap used after " + Units.count(heap.stats().usedBytes()) + " B (before "
                    + Units.count(before.usedBytes()) + " B)");
            return child.exitValue() == 0 && heap.stats().usedBytes() == before.usedBytes() ? 0 : 1;
        } finally {
            if (child != null) {
                child.destroyForcibly();
            }
            if (ownHeap) {
                Files.deleteIfExists(path);
            }
        }
    }

    private static Message receive(ShmReceiver receiver, boolean spin, long limitNanos) throws InterruptedException {
        if (!spin) {
            Optional<Message> message = receiver.poll(limitNanos, TimeUnit.NANOSECONDS);
            if (message.isEmpty()) {
                throw new IllegalStateException("no message for " + TimeUnit.NANOSECONDS.toSeconds(limitNanos) + " s");
            }
            return message.get();
        }
        long deadline = 0;
        for (int i = 0; ; i++) {
            Optional<Message> message = receiver.poll();
            if (message.isPresent()) {
                return message.get();
            }
            Thread.onSpinWait();
            if ((i & 0xFFFF) == 0xFFFF) {
                long now = System.nanoTime();
                if (deadline == 0) {
                    deadline = now + limitNanos;
                } else if (now - deadline >= 0) {
                    throw new IllegalStateException("no message for " + TimeUnit.NANOSECONDS.toSeconds(limitNanos) + " s");
                }
            }
        }
    }

    /** The echo side: sends every block it receives on "ping" straight back on "pong". */
    private static void pong(Path path, boolean spin) throws Exception {
        try (ShmHeap heap = ShmHeap.open(path)) {
            ShmChannel ping = ShmChannel.attach(heap, "ping", Duration.ofSeconds(30));
            ShmChannel pong = ShmChannel.attach(heap, "pong", Duration.ofSeconds(30));
            try (ShmReceiver receiver = ping.newReceiver(); ShmSender sender = pong.newSender()) {
                for (;;) {
                    Message message = receive(receiver, spin, IDLE_LIMIT_NANOS);
                    if (heap.getLong(message.offset()) == STOP) {
                        heap.free(message.offset());
                        return;
                    }
                    while (!sender.offer(message.offset(), message.length())) {
                        Thread.onSpinWait();
                    }
                }
            }
        }
    }
}
