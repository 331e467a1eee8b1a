package dev.shmheap.ipc.demo;

import dev.shmheap.HeapStats;
import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.ChannelStats;
import dev.shmheap.ipc.MessageReader;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmClaim;
import dev.shmheap.ipc.ShmReceiver;
import dev.shmheap.ipc.ShmSender;
import dev.shmheap.ipc.internal.OpenHeap;
import org.HdrHistogram.Histogram;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Round-trip latency between two JVMs over two channels ("ping" and "pong"). This process
 * claims room for a message on "ping" ({@code ShmSender.tryClaim}), writes a sequence number in
 * place and commits; the child JVM reads it in place and sends it back on "pong" (a message of
 * up to the channel's inline capacity is copied into a pong claim inside the ring, as any echo
 * over a ring must; a longer one travels in its own heap block and is forwarded by offset, zero
 * copy); this process checks the reply in place and records the round trip. The last line of
 * output is {@code rtt_p50_ns=... rtt_p99_ns=... rtt_p999_ns=...}, for scripts.
 *
 * <p>Modes: {@code spin} polls without ever sleeping (both processes keep a core busy);
 * {@code block} uses the blocking read (brief spin, yield, then futex sleep), which is what a
 * consumer that must not burn a core would use.
 */
public final class PingPong {
    static final String USAGE = "pingpong [--heap PATH] [--size 64] [--count 100000] [--warmup 20000] [--mode spin|block]"
            + " [--slot-length 32]";
    private static final long STOP = -1;
    private static final long IDLE_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(30);
    private static final long FIRST_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** Ring slots of each channel. */
    private static final int SLOTS = 1024;
    private static final int MAX_SIZE = 1 << 20;

    private PingPong() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = Args.parse(argv, USAGE + "\n(internal: --pong --heap PATH --mode M runs the echo side)", "heap", "size", "count",
                "warmup", "mode", "pong", "slot-length");
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
        int slotLength = args.slotLength();
        if (size < 2 * Long.BYTES || size > MAX_SIZE) {
            throw new Args.UsageException("--size must be in [16, " + MAX_SIZE + "]: size=" + size);
        }
        if (count < 1 || warmup < 0) {
            throw new Args.UsageException("--count must be at least 1 and --warmup at least 0: count=" + count + ", warmup=" + warmup);
        }
        Process child = null;
        try (ShmHeap heap = OpenHeap.existingOrNew(path, 64L << 20)) {
            HeapStats before = heap.stats();
            ShmChannel ping = ShmChannel.create(heap, "ping", SLOTS, slotLength);
            ShmChannel pong = ShmChannel.create(heap, "pong", SLOTS, slotLength);
            Histogram rtt = new Histogram(3);
            ChannelStats pingStats;
            ChannelStats pongStats;
            try (ShmReceiver receiver = pong.newReceiver(); ShmSender sender = ping.newSender()) {
                child = ChildJvm.start(PingPong.class, List.of("-Xmx128m"), List.of("--pong", "--heap", path.toString(), "--mode", mode));
                System.out.println("pingpong: " + size + "-byte messages (" + (size <= ping.inlineCapacity() ? "inline, in the ring"
                        : "by offset, in heap blocks") + "; " + slotLength + "-byte slots), " + Units.count(count)
                        + " round trips after " + Units.count(warmup) + " warm-up, mode " + mode + ", heap " + path);
                ShmClaim claim = new ShmClaim();
                Reply reply = new Reply(receiver, size);
                for (long i = 0; i < warmup + count; i++) {
                    long start = System.nanoTime();
                    send(sender, claim, size);
                    claim.putLong(0, i);
                    claim.putLong(size - Long.BYTES, i);
                    claim.commit();
                    reply.expected = i;
                    receive(receiver, reply, spin, i == 0 ? FIRST_LIMIT_NANOS : IDLE_LIMIT_NANOS);
                    long elapsed = System.nanoTime() - start;
                    if (i >= warmup) {
                        rtt.recordValue(elapsed);
                    }
                }
                send(sender, claim, size);
                claim.putLong(0, STOP);
                claim.commit();
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
            System.out.println("  messages: ping inline " + Units.count(pingStats.inlineMessages()) + ", by offset "
                    + Units.count(pingStats.offsetMessages()) + "; futex sleeps: pong side " + Units.count(pingStats.futexWaits())
                    + ", ping side " + Units.count(pongStats.futexWaits()) + "; heap used after " + Units.count(heap.stats().usedBytes())
                    + " B (before " + Units.count(before.usedBytes()) + " B)");
            System.out.println("rtt_p50_ns=" + rtt.getValueAtPercentile(50) + " rtt_p99_ns=" + rtt.getValueAtPercentile(99)
                    + " rtt_p999_ns=" + rtt.getValueAtPercentile(99.9));
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

    private static void send(ShmSender sender, ShmClaim claim, long size) {
        long deadline = 0;
        for (int i = 0; !sender.tryClaim(size, claim); i++) {
            Thread.onSpinWait();
            if ((i & 0xFFFF) == 0xFFFF) {
                long now = System.nanoTime();
                if (deadline == 0) {
                    deadline = now + IDLE_LIMIT_NANOS;
                } else if (now - deadline >= 0) {
                    throw new IllegalStateException("no room on channel '" + sender.channel().name() + "' for "
                            + TimeUnit.NANOSECONDS.toSeconds(IDLE_LIMIT_NANOS) + " s");
                }
            }
        }
    }

    /** Reads one message: busy-polling ({@code spin}) or with the blocking read. */
    private static void receive(ShmReceiver receiver, MessageReader reader, boolean spin, long limitNanos) throws InterruptedException {
        if (!spin) {
            if (receiver.read(reader, 1, limitNanos, TimeUnit.NANOSECONDS) == 0) {
                throw new IllegalStateException("no message for " + TimeUnit.NANOSECONDS.toSeconds(limitNanos) + " s");
            }
            return;
        }
        long deadline = 0;
        for (int i = 0; receiver.read(reader, 1) == 0; i++) {
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

    /**
     * Checks a reply in place, through the receiver's accessors: its length and the sequence
     * number of the ping it answers, at both ends.
     */
    private static final class Reply implements MessageReader {
        private final ShmReceiver receiver;
        private final int size;
        long expected;

        Reply(ShmReceiver receiver, int size) {
            this.receiver = receiver;
            this.size = size;
        }

        @Override
        public boolean onMessage(long offset, long length, boolean inline) {
            if (length != size) {
                throw new IllegalStateException("round trip " + expected + " returned " + length + " B; sent " + size + " B");
            }
            long front = receiver.getLong(0);
            long back = receiver.getLong(size - Long.BYTES);
            if (front != expected || back != expected) {
                throw new IllegalStateException("round trip " + expected + " returned " + length + " B holding " + front + " and "
                        + back + "; sent " + size + " B");
            }
            return false;
        }
    }

    /** The echo side: sends every message it reads on "ping" back on "pong". */
    private static void pong(Path path, boolean spin) throws Exception {
        try (ShmHeap heap = ShmHeap.open(path)) {
            ShmChannel ping = ShmChannel.attach(heap, "ping", Duration.ofSeconds(30));
            ShmChannel pong = ShmChannel.attach(heap, "pong", Duration.ofSeconds(30));
            try (ShmReceiver receiver = ping.newReceiver(); ShmSender sender = pong.newSender()) {
                Echo echo = new Echo(receiver, sender);
                while (!echo.stopped) {
                    receive(receiver, echo, spin, IDLE_LIMIT_NANOS);
                }
            }
        }
    }

    /**
     * Sends back what it reads: an inline message copied once, ring to ring, into a claim
     * ({@link ShmClaim#putBytes(long, ShmReceiver, long, long)}), an offset message by its offset.
     * Both channels have the same slot length, so an inline ping fits inline in a pong slot.
     */
    private static final class Echo implements MessageReader {
        private final ShmReceiver receiver;
        private final ShmSender sender;
        private final ShmClaim claim = new ShmClaim();
        boolean stopped;

        Echo(ShmReceiver receiver, ShmSender sender) {
            this.receiver = receiver;
            this.sender = sender;
        }

        @Override
        public boolean onMessage(long offset, long length, boolean inline) {
            if (receiver.getLong(0) == STOP) {
                stopped = true;
                return false;
            }
            if (!inline) {
                while (!sender.offerTrusted(offset, length)) {
                    Thread.onSpinWait();
                }
                return true;
            }
            send(sender, claim, length);
            claim.putBytes(0, receiver, 0, length);
            claim.commit();
            return false;
        }
    }
}
