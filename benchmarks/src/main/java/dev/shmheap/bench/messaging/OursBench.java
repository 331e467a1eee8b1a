package dev.shmheap.bench.messaging;

import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.MessageHandler;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmReceiver;
import dev.shmheap.ipc.ShmSender;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

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
    /** Most messages the throughput receiver takes per poll (Aeron's side polls 16 fragments). */
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
                Received reply = new Received();
                Spin first = new Spin(PEER_WAIT_NANOS, "waiting for the first pong", peer);
                Spin spin = new Spin(IDLE_NANOS, "waiting for a pong", peer);
                for (long i = 0; i < warmup + count; i++) {
                    long start = System.nanoTime();
                    long block = heap.allocate(size);
                    write(heap, block, size, i);
                    while (!out.offerTrusted(block, size)) {
                        spin.spin();
                    }
                    Spin wait = i == 0 ? first : spin;
                    while (in.poll(reply, 1) == 0) {
                        wait.spin();
                    }
                    long front = heap.getLong(reply.offset);
                    long trailer = heap.getLong(reply.offset + Payload.trailer(size));
                    if (reply.offset != block || reply.length != size || front != i || trailer != i) {
                        throw Payload.mismatch("ours round trip (sent block " + block + ", got " + reply.offset + " of " + reply.length
                                + " B)", i, front, trailer);
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
                Received ping1 = new Received();
                for (;;) {
                    if (in.poll(ping1, 1) == 0) {
                        spin.spin();
                        continue;
                    }
                    spin.reset();
                    if (heap.getLong(ping1.offset) == Payload.STOP) {
                        heap.free(ping1.offset);
                        return;
                    }
                    while (!out.offerTrusted(ping1.offset, ping1.length)) {
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
    static Throughput throughput(Path directory, int size, long warmup, long count, int heapBatch)
            throws IOException, InterruptedException {
        Payload.checkSize(size);
        if (heapBatch < 1 || heapBatch > 1024) {
            throw new IllegalArgumentException("heapBatch " + heapBatch + " must be in [1, 1024]");
        }
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
                 PeerJvm peer = PeerJvm.start(Peer.OURS_SEND, path.toString(), Integer.toString(size), Long.toString(total),
                         Integer.toString(heapBatch))) {
                Spin first = new Spin(PEER_WAIT_NANOS, "waiting for the first message", peer);
                Spin spin = new Spin(IDLE_NANOS, "waiting for a message", peer);
                Checker checker = new Checker(heap, size, warmup, heapBatch);
                while (checker.expected < total) {
                    int polled = in.poll(checker, BATCH);
                    checker.freeHeld();
                    if (polled == 0) {
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

    /**
     * The peer of {@link #throughput}: allocates, writes and offers {@code total} messages.
     * With {@code heapBatch > 1} it takes blocks from the heap that many at a time (still one
     * block per message) and frees the ones it did not need at the end.
     */
    static void send(Path path, int size, long total, int heapBatch) throws IOException, InterruptedException {
        try (ShmHeap heap = ShmHeap.open(path)) {
            ShmChannel data = ShmChannel.attach(heap, DATA, Duration.ofSeconds(30));
            try (ShmSender out = data.newSender()) {
                Spin spin = new Spin(IDLE_NANOS, "waiting for ring or heap space");
                long[] blocks = new long[heapBatch];
                int ready = 0;
                for (long seq = 0; seq < total; seq++) {
                    if (ready == 0) {
                        ready = take(heap, size, blocks, (int) Math.min(heapBatch, total - seq), spin);
                    }
                    long block = blocks[--ready];
                    write(heap, block, size, seq);
                    while (!out.offerTrusted(block, size)) {
                        spin.spin();
                    }
                    spin.reset();
                }
                while (ready > 0) {
                    heap.free(blocks[--ready]);
                }
                Peer.awaitRelease();
            }
        }
    }

    /** Allocates up to {@code wanted} blocks into {@code blocks} (at least one, waiting for space); returns how many. */
    private static int take(ShmHeap heap, int size, long[] blocks, int wanted, Spin spin) {
        int n = 0;
        while (n == 0) {
            while (n < wanted) {
                long block = heap.tryAllocate(size, ShmHeap.DEFAULT_ALIGNMENT);
                if (block == ShmHeap.NO_SPACE) {
                    break;
                }
                // reverse order, so that the blocks are used in the order they were allocated
                blocks[wanted - 1 - n++] = block;
            }
            if (n == 0) {
                spin.spin();
            } else if (n < wanted) {
                System.arraycopy(blocks, wanted - n, blocks, 0, n);
            }
        }
        return n;
    }

    /** The last message a poll handed over. */
    private static final class Received implements MessageHandler {
        long offset;
        long length;

        @Override
        public void onMessage(long offset, long length) {
            this.offset = offset;
            this.length = length;
        }
    }

    /** Checks both sequence words of each message in place, then frees its block. */
    static final class Checker implements MessageHandler {
        private final ShmHeap heap;
        private final int size;
        private final long warmup;
        private final long[] held;
        private int holding;
        long expected;
        long start;

        /** {@code heapBatch > 1}: free after each poll, up to {@link #BATCH} blocks in a row, instead of one by one. */
        Checker(ShmHeap heap, int size, long warmup, int heapBatch) {
            this.heap = heap;
            this.size = size;
            this.warmup = warmup;
            this.held = heapBatch > 1 ? new long[BATCH] : null;
        }

        void freeHeld() {
            while (holding > 0) {
                heap.free(held[--holding]);
            }
        }

        @Override
        public void onMessage(long offset, long length) {
            long front = heap.getLong(offset);
            long back = heap.getLong(offset + Payload.trailer(size));
            if (length != size || front != expected || back != expected) {
                throw Payload.mismatch("ours throughput (block " + offset + " of " + length + " B)", expected, front, back);
            }
            if (held != null) {
                held[holding++] = offset;
            } else {
                heap.free(offset);
            }
            if (++expected == warmup) {
                start = System.nanoTime();
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
