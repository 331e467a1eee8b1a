package dev.shmheap.bench.messaging;

import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.Message;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmReceiver;
import dev.shmheap.ipc.ShmSender;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Our side of the comparison: ipc-demo's {@link ShmChannel} over a shared heap. A message is a
 * heap block the sender allocates and writes in place; only its offset travels; the receiver
 * reads it in place and frees it.
 */
final class OursBench {
    static final String PING = "ping";
    static final String PONG = "pong";
    static final String DATA = "data";
    /** Ring slots of every channel. */
    static final int SLOTS = 4096;
    /** Data capacity of a heap: room for a full ring of the largest messages and more. */
    static final long HEAP_CAPACITY = 512L << 20;
    private static final long PEER_WAIT_NANOS = 60_000_000_000L;
    private static final long IDLE_NANOS = 30_000_000_000L;

    private OursBench() {
    }

    static Path newHeapPath(Path directory, String label) {
        return directory.resolve("msgbench-ours-" + label + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".heap");
    }

    /**
     * Round trips between this JVM (ping) and a peer JVM (pong): allocate a block, write the
     * payload, offer it on "ping"; the peer offers the same block back on "pong"; check it and
     * free it. The clock runs from before the allocation to after the free.
     */
    static RoundTrip roundTrip(Path directory, int size, long warmup, long count) throws IOException, InterruptedException {
        Payload.checkSize(size);
        Path path = newHeapPath(directory, "rtt");
        try (ShmHeap heap = ShmHeap.create(path, HEAP_CAPACITY)) {
            long usedBefore = heap.stats().usedBytes();
            ShmChannel ping = ShmChannel.create(heap, PING, SLOTS);
            ShmChannel pong = ShmChannel.create(heap, PONG, SLOTS);
            Histogram histogram = RoundTrip.newHistogram();
            try (ShmReceiver in = pong.newReceiver(); ShmSender out = ping.newSender();
                 PeerJvm peer = PeerJvm.start(Peer.OURS_PONG, path.toString())) {
                Spin first = new Spin(PEER_WAIT_NANOS, "waiting for the first pong", peer);
                Spin spin = new Spin(IDLE_NANOS, "waiting for a pong", peer);
                for (long i = 0; i < warmup + count; i++) {
                    long start = System.nanoTime();
                    long block = heap.allocate(size);
                    write(heap, block, size, i);
                    while (!out.offer(block, size)) {
                        spin.spin();
                    }
                    Spin wait = i == 0 ? first : spin;
                    Optional<Message> back;
                    while ((back = in.poll()).isEmpty()) {
                        wait.spin();
                    }
                    Message m = back.get();
                    long front = heap.getLong(m.offset());
                    long trailer = heap.getLong(m.offset() + Payload.trailer(size));
                    if (m.offset() != block || m.length() != size || front != i || trailer != i) {
                        throw Payload.mismatch("ours round trip (block " + block + ", got " + m + ")", i, front, trailer);
                    }
                    heap.free(block);
                    long elapsed = System.nanoTime() - start;
                    spin.reset();
                    if (i >= warmup) {
                        histogram.recordValue(elapsed);
                    }
                }
                long stop = heap.allocate(size);
                heap.putLong(stop, Payload.STOP);
                while (!out.offer(stop, size)) {
                    spin.spin();
                }
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

    /** The peer of {@link #roundTrip}: offers every block from "ping" straight back on "pong". */
    static void pong(Path path) throws IOException, InterruptedException {
        try (ShmHeap heap = ShmHeap.open(path)) {
            ShmChannel ping = ShmChannel.attach(heap, PING, Duration.ofSeconds(30));
            ShmChannel pong = ShmChannel.attach(heap, PONG, Duration.ofSeconds(30));
            try (ShmReceiver in = ping.newReceiver(); ShmSender out = pong.newSender()) {
                Spin spin = new Spin(IDLE_NANOS, "waiting for a ping");
                for (;;) {
                    Optional<Message> next = in.poll();
                    if (next.isEmpty()) {
                        spin.spin();
                        continue;
                    }
                    spin.reset();
                    Message m = next.get();
                    if (heap.getLong(m.offset()) == Payload.STOP) {
                        heap.free(m.offset());
                        return;
                    }
                    while (!out.offer(m.offset(), m.length())) {
                        spin.spin();
                    }
                }
            }
        }
    }

    /**
     * One-way throughput: a peer JVM sends {@code warmup + count} messages of {@code size}
     * bytes; this JVM receives them, checks both sequence words of each and frees it. Measured
     * from the receipt of the last warm-up message to the receipt of the last one.
     */
    static Throughput throughput(Path directory, int size, long warmup, long count) throws IOException, InterruptedException {
        Payload.checkSize(size);
        if (warmup < 1 || count < 1) {
            throw new IllegalArgumentException("warmup and count must be at least 1");
        }
        Path path = newHeapPath(directory, "tput");
        try (ShmHeap heap = ShmHeap.create(path, HEAP_CAPACITY)) {
            long usedBefore = heap.stats().usedBytes();
            ShmChannel data = ShmChannel.create(heap, DATA, SLOTS);
            long total = warmup + count;
            long start = 0;
            long end;
            try (ShmReceiver in = data.newReceiver();
                 PeerJvm peer = PeerJvm.start(Peer.OURS_SEND, path.toString(), Integer.toString(size), Long.toString(total))) {
                Spin first = new Spin(PEER_WAIT_NANOS, "waiting for the first message", peer);
                Spin spin = new Spin(IDLE_NANOS, "waiting for a message", peer);
                int trailer = Payload.trailer(size);
                for (long expected = 0; expected < total; ) {
                    Optional<Message> next = in.poll();
                    if (next.isEmpty()) {
                        (expected == 0 ? first : spin).spin();
                        continue;
                    }
                    Message m = next.get();
                    long front = heap.getLong(m.offset());
                    long back = heap.getLong(m.offset() + trailer);
                    if (m.length() != size || front != expected || back != expected) {
                        throw Payload.mismatch("ours throughput (" + m + ")", expected, front, back);
                    }
                    heap.free(m.offset());
                    if (++expected == warmup) {
                        start = System.nanoTime();
                    }
                    spin.reset();
                }
                end = System.nanoTime();
                peer.finish();
            }
            data.destroy(Duration.ofSeconds(10));
            checkNoLeak(heap, usedBefore);
            return new Throughput(count, size, end - start);
        } finally {
            Files.deleteIfExists(path);
        }
    }

    /** The peer of {@link #throughput}: allocates, writes and offers {@code total} messages. */
    static void send(Path path, int size, long total) throws IOException, InterruptedException {
        try (ShmHeap heap = ShmHeap.open(path)) {
            ShmChannel data = ShmChannel.attach(heap, DATA, Duration.ofSeconds(30));
            try (ShmSender out = data.newSender()) {
                Spin spin = new Spin(IDLE_NANOS, "waiting for ring or heap space");
                for (long seq = 0; seq < total; seq++) {
                    long block;
                    while ((block = heap.tryAllocate(size, ShmHeap.DEFAULT_ALIGNMENT)) == ShmHeap.NO_SPACE) {
                        spin.spin();
                    }
                    write(heap, block, size, seq);
                    while (!out.offer(block, size)) {
                        spin.spin();
                    }
                    spin.reset();
                }
                Peer.awaitRelease();
            }
        }
    }

    /** Writes the whole payload of message {@code seq} into the block, in place. */
    static void write(ShmHeap heap, long block, int size, long seq) {
        heap.putLong(block, seq);
        heap.putBytes(block + Long.BYTES, Payload.TEMPLATE, Long.BYTES, Payload.body(size));
        heap.putLong(block + Payload.trailer(size), seq);
    }

    private static void checkNoLeak(ShmHeap heap, long usedBefore) {
        long usedAfter = heap.stats().usedBytes();
        if (usedAfter != usedBefore) {
            throw new IllegalStateException("heap " + heap.path() + " leaked: " + usedBefore + " bytes used before, " + usedAfter + " after");
        }
    }
}
