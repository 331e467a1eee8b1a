package dev.shmheap.bench.messaging;

import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.ChannelDescriptor;
import dev.shmheap.ipc.MessageReader;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmClaim;
import dev.shmheap.ipc.ShmReceiver;
import dev.shmheap.ipc.ShmSender;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Our side of the comparison: ipc-demo's {@link ShmChannel} over a shared heap. The sender
 * claims room with {@link ShmSender#tryClaim(long, ShmClaim)} and writes the payload in place:
 * a message of at most the channel's inline capacity ({@link #slotLength} - 16 bytes) inside
 * its ring slot, a longer one in a heap block the claim allocates (only its offset travels).
 * The receiver reads each message in place with {@link ShmReceiver#read(MessageReader, int)},
 * which frees the blocks of offset messages once per batch. Every channel has one sender,
 * attached with {@link ShmChannel#newExclusiveSender()}, as Aeron's side uses exclusive
 * publications.
 */
final class OursBench {
    static final String PING = "ping";
    static final String PONG = "pong";
    static final String DATA = "data";
    /**
     * Bytes the throughput sender may have in flight (committed, not yet read): 32 MiB, the
     * window Aeron's publisher may run ahead of its subscriber (half its 64 MiB IPC term). On a
     * machine whose cores are shared with other work, this slack decides how long one side can
     * go on while the other is descheduled (measured at 64 B, load 6 to 9: 65536 slots of 256 B
     * gave a median 0.59x Aeron, 131072 slots 1.07x, in four interleaved quick runs each). At
     * 64 B Aeron's 96-byte frames still fit about 2.7 times as many messages in it as our
     * 256-byte slots.
     */
    static final long IN_FLIGHT_BYTES = 32L << 20;
    /** Ring slots of the throughput channel; 0 (the default) derives them from {@link #IN_FLIGHT_BYTES}. Set by {@code --slots}. */
    static int slots;

    /**
     * Slots of a throughput channel with slots of {@code slotLength} bytes, for messages of
     * {@code size} bytes: 32 MiB of ring for messages that travel inline, 32 MiB of message
     * blocks for the others (a power of two, so at least 16 MiB).
     */
    static int throughputSlots(int size, int slotLength) {
        if (slots > 0) {
            return slots;
        }
        boolean inline = ChannelDescriptor.SLOT_PAYLOAD_OFFSET + size <= Math.max(slotLength, ChannelDescriptor.MAX_INLINE_RECORD);
        long perSlot = inline ? slotLength : size;
        return (int) Math.min(ChannelDescriptor.MAX_CAPACITY, Long.highestOneBit(IN_FLIGHT_BYTES / perSlot));
    }

    /**
     * The slot a channel made for messages of exactly {@code size} bytes would have: the smallest
     * multiple of 16 that holds the 16-byte slot header and the message (80 B for 64 B), so that
     * consecutive messages share cache lines as Aeron's frames do.
     */
    static int sizedSlotLength(int size) {
        return ChannelDescriptor.slotLengthFor(size);
    }

    /**
     * Ring slots of the round-trip channels: 1 MiB rings stay in the caches, where a 16 MiB one
     * makes every round trip touch cold lines (measured: p99 about 2 us instead of 0.85 us).
     */
    static int rttSlots = 4096;
    /** Bytes of one ring slot (a record takes as many as it needs). Set by {@code --slot}. */
    static int slotLength = ChannelDescriptor.DEFAULT_SLOT_LENGTH;
    /** Most messages the throughput receiver takes per read (Aeron's side polls 16 fragments). */
    static final int BATCH = 16;
    /** Data capacity of a heap: room for a full ring of the largest messages and more. */
    static final long HEAP_CAPACITY = 512L << 20;
    private static final long PEER_WAIT_NANOS = 60_000_000_000L;
    private static final long IDLE_NANOS = 30_000_000_000L;

    private OursBench() {
    }

    static Path newHeapPath(Path directory, String label) {
        return directory.resolve("msgbench-ours-" + label + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".heap");
    }

    static ShmChannel createChannel(ShmHeap heap, String name, int capacity) {
        return ShmChannel.create(heap, name, capacity, slotLength);
    }

    static Throughput throughput(Path directory, int size, long warmup, long count) throws IOException, InterruptedException {
        return throughput(directory, size, slotLength, warmup, count);
    }

    /**
     * Round trips between this JVM (ping) and a peer JVM (pong): claim, write the payload in
     * place, commit on "ping"; the peer sends it back on "pong" (an inline message copied once
     * from the ping ring into a pong claim, as Aeron's peer copies once; an offset message forwarded by its offset, no copy);
     * read the reply in place and check it (the receiver frees an offset block). The clock runs
     * from before the claim to after the reply has been checked and released.
     */
    static RoundTrip roundTrip(Path directory, int size, long warmup, long count) throws IOException, InterruptedException {
        Payload.checkSize(size);
        Path path = newHeapPath(directory, "rtt");
        try (ShmHeap heap = ShmHeap.create(path, HEAP_CAPACITY)) {
            long usedBefore = heap.stats().usedBytes();
            ShmChannel ping = createChannel(heap, PING, rttSlots);
            ShmChannel pong = createChannel(heap, PONG, rttSlots);
            Histogram histogram = RoundTrip.newHistogram();
            try (ShmReceiver in = pong.newReceiver(); ShmSender out = ping.newExclusiveSender();
                 PeerJvm peer = PeerJvm.start(Peer.OURS_PONG, path.toString())) {
                Spin first = new Spin(PEER_WAIT_NANOS, "waiting for the first pong", peer);
                Spin spin = new Spin(IDLE_NANOS, "waiting for a pong", peer);
                ShmClaim claim = new ShmClaim();
                ReplyChecker reply = new ReplyChecker(in, size);
                for (long i = 0; i < warmup + count; i++) {
                    long start = System.nanoTime();
                    while (!out.tryClaim(size, claim)) {
                        spin.spin();
                    }
                    write(claim, size, i);
                    claim.commit();
                    Spin wait = i == 0 ? first : spin;
                    reply.expected = i;
                    while (in.read(reply, 1) == 0) {
                        wait.spin();
                    }
                    long elapsed = System.nanoTime() - start;
                    spin.reset();
                    if (i >= warmup) {
                        histogram.recordValue(elapsed);
                    }
                }
                while (!out.tryClaim(size, claim)) {
                    spin.spin();
                }
                heap.putLong(claim.offset(), Payload.STOP);
                claim.commit();
                peer.finish();
            }
            ping.destroy(Duration.ofSeconds(10));
            pong.destroy(Duration.ofSeconds(10));
            checkNoLeak(heap, usedBefore);
            return RoundTrip.of(histogram);
        } finally {
            Files.deleteIfExists(path);
        }
    }

    /** Checks the reply to ping {@link #expected} in place. */
    private static final class ReplyChecker implements MessageReader {
        private final ShmReceiver in;
        private final int size;
        long expected;

        ReplyChecker(ShmReceiver in, int size) {
            this.in = in;
            this.size = size;
        }

        @Override
        public boolean onMessage(long offset, long length, boolean inline) {
            long front = in.getLong(0);
            long trailer = in.getLong(Payload.trailer(size));
            if (length != size || front != expected || trailer != expected) {
                throw Payload.mismatch("ours round trip (" + length + " B at " + offset + (inline ? ", inline)" : ", by offset)"),
                        expected, front, trailer);
            }
            return false;
        }
    }

    /** The peer of {@link #roundTrip}: sends every message from "ping" straight back on "pong". */
    static void pong(Path path) throws IOException, InterruptedException {
        try (ShmHeap heap = ShmHeap.open(path)) {
            ShmChannel ping = ShmChannel.attach(heap, PING, Duration.ofSeconds(30));
            ShmChannel pong = ShmChannel.attach(heap, PONG, Duration.ofSeconds(30));
            try (ShmReceiver in = ping.newReceiver(); ShmSender out = pong.newExclusiveSender()) {
                Spin spin = new Spin(IDLE_NANOS, "waiting for a ping");
                Echo echo = new Echo(in, out, spin);
                while (!echo.stopped) {
                    if (in.read(echo, 1) == 0) {
                        spin.spin();
                    } else {
                        spin.reset();
                    }
                }
            }
        }
    }

    /** Sends what it reads back: an inline message copied into a claim, an offset message by its offset. */
    private static final class Echo implements MessageReader {
        private final ShmReceiver in;
        private final ShmSender out;
        private final Spin spin;
        private final ShmClaim claim = new ShmClaim();
        boolean stopped;

        Echo(ShmReceiver in, ShmSender out, Spin spin) {
            this.in = in;
            this.out = out;
            this.spin = spin;
        }

        @Override
        public boolean onMessage(long offset, long length, boolean inline) {
            if (in.getLong(0) == Payload.STOP) {
                stopped = true;
                return false;
            }
            if (!inline) {
                while (!out.offerTrusted(offset, length)) {
                    spin.spin();
                }
                return true;
            }
            while (!out.tryClaim(length, claim)) {
                spin.spin();
            }
            claim.putBytes(0, in, 0, length); // one copy, ring to ring, as Aeron's peer offers from its term
            claim.commit();
            return false;
        }
    }

    /**
     * One-way throughput: a peer JVM sends {@code warmup + count} messages of {@code size}
     * bytes; this JVM reads them in place, checks both sequence words of each (the receiver
     * frees offset blocks once per batch). Measured from the receipt of the last warm-up message
     * to the receipt of the last one.
     */
    /** As above, over a channel with slots of {@code slotLength} bytes. */
    static Throughput throughput(Path directory, int size, int slotLength, long warmup, long count) throws IOException, InterruptedException {
        Payload.checkSize(size);
        if (warmup < 1 || count < 1) {
            throw new IllegalArgumentException("warmup=" + warmup + " and count=" + count + " must be at least 1");
        }
        Path path = newHeapPath(directory, "tput");
        try (ShmHeap heap = ShmHeap.create(path, HEAP_CAPACITY)) {
            long usedBefore = heap.stats().usedBytes();
            ShmChannel data = ShmChannel.create(heap, DATA, throughputSlots(size, slotLength), slotLength);
            long total = warmup + count;
            long start;
            long end;
            try (ShmReceiver in = data.newReceiver();
                 PeerJvm peer = PeerJvm.start(Peer.OURS_SEND, path.toString(), Integer.toString(size), Long.toString(total))) {
                Spin first = new Spin(PEER_WAIT_NANOS, "waiting for the first message", peer);
                Spin spin = new Spin(IDLE_NANOS, "waiting for a message", peer);
                Checker checker = new Checker(in, size, warmup);
                while (checker.expected < total) {
                    if (in.read(checker, BATCH) == 0) {
                        (checker.expected == 0 ? first : spin).spin();
                    } else {
                        spin.reset();
                    }
                }
                end = System.nanoTime();
                start = checker.start;
                peer.finish();
            }
            data.destroy(Duration.ofSeconds(10));
            checkNoLeak(heap, usedBefore);
            return new Throughput(count, size, end - start);
        } finally {
            Files.deleteIfExists(path);
        }
    }

    /** The peer of {@link #throughput}: claims, writes in place and commits {@code total} messages. */
    static void send(Path path, int size, long total) throws IOException, InterruptedException {
        try (ShmHeap heap = ShmHeap.open(path)) {
            ShmChannel data = ShmChannel.attach(heap, DATA, Duration.ofSeconds(30));
            try (ShmSender out = data.newExclusiveSender()) {
                Spin spin = new Spin(IDLE_NANOS, "waiting for ring or heap space");
                ShmClaim claim = new ShmClaim();
                for (long seq = 0; seq < total; seq++) {
                    while (!out.tryClaim(size, claim)) {
                        spin.spin();
                    }
                    write(claim, size, seq);
                    claim.commit();
                    spin.reset();
                }
                Peer.awaitRelease();
            }
        }
    }

    /** Checks both sequence words of each message in place; the receiver frees offset blocks. */
    static final class Checker implements MessageReader {
        private final ShmReceiver in;
        private final int size;
        private final long warmup;
        long expected;
        long start;

        Checker(ShmReceiver in, int size, long warmup) {
            this.in = in;
            this.size = size;
            this.warmup = warmup;
        }

        @Override
        public boolean onMessage(long offset, long length, boolean inline) {
            long front = in.getLong(0);
            long back = in.getLong(Payload.trailer(size));
            if (length != size || front != expected || back != expected) {
                throw Payload.mismatch("ours throughput (" + length + " B at " + offset + (inline ? ", inline)" : ", by offset)"),
                        expected, front, back);
            }
            if (++expected == warmup) {
                start = System.nanoTime();
            }
            return false;
        }
    }

    /** Writes the whole payload of message {@code seq} into {@code claim}, in place, with the claim's accessors. */
    static void write(ShmClaim claim, int size, long seq) {
        claim.putLong(0, seq);
        claim.putBytes(Long.BYTES, Payload.TEMPLATE, Long.BYTES, Payload.body(size));
        claim.putLong(Payload.trailer(size), seq);
    }

    private static void checkNoLeak(ShmHeap heap, long usedBefore) {
        long usedAfter = heap.stats().usedBytes();
        if (usedAfter != usedBefore) {
            throw new IllegalStateException("heap " + heap.path() + " leaked: " + usedBefore + " bytes used before, " + usedAfter + " after");
        }
    }
}
