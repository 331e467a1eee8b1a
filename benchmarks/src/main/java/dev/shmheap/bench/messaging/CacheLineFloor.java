package dev.shmheap.bench.messaging;

import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The floor of any shared-memory round trip: two processes bouncing one cache line. A long at
 * offset 0 of a small mapped file: ping stores an odd n, pong waits for n and stores n + 1, ping
 * waits for n + 1. Nothing else is shared, so each round trip is two cache-line transfers plus
 * the spin loops' reaction time.
 */
final class CacheLineFloor {
    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
    private static final int WORD = 0;
    /** Pong's "mapped and spinning" flag, on another cache line. */
    private static final int READY = 256;
    private static final int FILE_LENGTH = 4096;

    /**
     * The two-line reference ({@link #measureRing}): two rings of {@link #RING_SLOTS} slots of
     * {@link #RING_SLOT} bytes, the shape of our round-trip channels (4096 slots of 256 B), a
     * commit word at offset 0 of each slot and a 64-byte message at {@link #RING_PAYLOAD}, so
     * that, as in any ring whose message carries a commit marker, the message spans two lines.
     */
    private static final int RING_SLOTS = 4096;
    private static final int RING_SLOT = 256;
    private static final int RING_PAYLOAD = 16;
    private static final int RING_WORDS = 8;
    private static final int RING_A = FILE_LENGTH;
    private static final int RING_B = RING_A + RING_SLOTS * RING_SLOT;
    private static final int RING_FILE_LENGTH = RING_B + RING_SLOTS * RING_SLOT;

    private CacheLineFloor() {
    }

    /** Runs ping here and pong in a peer JVM; removes the file it creates. */
    static RoundTrip measure(Path directory, long warmup, long count) throws IOException, InterruptedException {
        return measureWithPeer(directory, "floor", FILE_LENGTH, Peer.FLOOR_PONG, warmup, count, (map, i, spin) -> {
            long n = 2 * i + 1;
            LONGS.setRelease(map, WORD, n);
            while ((long) LONGS.getAcquire(map, WORD) != n + 1) {
                spin.spin();
            }
        });
    }

    /** One round trip number {@code i} against the peer, timed by {@link #measureWithPeer}. */
    @FunctionalInterface
    private interface RoundTripStep {
        void run(MappedByteBuffer map, long i, Spin spin);
    }

    /**
     * What both measurements share: maps a new file of {@code fileLength} bytes, starts the peer
     * JVM in {@code role} and waits until it is ready, times {@code warmup + count} round trips
     * (recording the last {@code count}), stops the peer and removes the file.
     */
    private static RoundTrip measureWithPeer(Path directory, String name, int fileLength, String role, long warmup, long count,
                                             RoundTripStep step) throws IOException, InterruptedException {
        Path file = directory.resolve("msgbench-" + name + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".bin");
        try {
            MappedByteBuffer map = map(file, true, fileLength);
            try (PeerJvm peer = PeerJvm.start(role, file.toString())) {
                Spin ready = new Spin(60_000_000_000L, "waiting for the " + name + "'s pong JVM");
                while ((long) LONGS.getVolatile(map, READY) == 0) {
                    peer.checkAlive();
                    ready.spin();
                }
                Histogram histogram = RoundTrip.newHistogram();
                Spin spin = new Spin(30_000_000_000L, "waiting for the " + name + "'s pong");
                for (long i = 0; i < warmup + count; i++) {
                    long start = System.nanoTime();
                    step.run(map, i, spin);
                    long elapsed = System.nanoTime() - start;
                    spin.reset();
                    if (i >= warmup) {
                        histogram.recordValue(elapsed);
                    }
                }
                LONGS.setRelease(map, WORD, Payload.STOP);
                peer.finish();
                return RoundTrip.of(histogram);
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** The peer side: answers every odd value with the next even one until {@link Payload#STOP}. */
    static void pong(Path file) throws IOException {
        MappedByteBuffer map = map(file, false, FILE_LENGTH);
        LONGS.setRelease(map, READY, 1L);
        Spin spin = new Spin(30_000_000_000L, "waiting for the floor's ping");
        for (;;) {
            long v = (long) LONGS.getAcquire(map, WORD);
            if (v == Payload.STOP) {
                return;
            }
            if ((v & 1) != 0) {
                LONGS.setRelease(map, WORD, v + 1);
                spin.reset();
            } else {
                spin.spin();
            }
        }
    }

    /**
     * The least any ring can do for a 64-byte message with a commit marker: ping writes the
     * message (sequence number in its first and last words) into its slot of ring A and
     * release-stores the slot's commit word; pong waits for it, copies the 64 bytes into its
     * slot of ring B and commits; ping waits for that and checks both sequence words. No
     * claim, no liveness, no bounds checks: only the cache lines a message must move (two per
     * message, as the 72 bytes of message and marker cannot share one 64-byte line) and the spin
     * loops. Measured the same way as {@link #measure}.
     */
    static RoundTrip measureRing(Path directory, long warmup, long count) throws IOException, InterruptedException {
        return measureWithPeer(directory, "ring", RING_FILE_LENGTH, Peer.RING_PONG, warmup, count, (map, i, spin) -> {
            int slotA = ringSlot(RING_A, i);
            writeRingMessage(map, slotA, i);
            LONGS.setRelease(map, slotA, i + 1);
            int slotB = ringSlot(RING_B, i);
            while ((long) LONGS.getAcquire(map, slotB) != i + 1) {
                spin.spin();
            }
            long front = (long) LONGS.get(map, slotB + RING_PAYLOAD);
            long back = (long) LONGS.get(map, slotB + RING_PAYLOAD + (RING_WORDS - 1) * Long.BYTES);
            if (front != i || back != i) {
                throw Payload.mismatch("two-line ring", i, front, back);
            }
        });
    }

    /** The peer side of {@link #measureRing}: copies each message of ring A into ring B until {@link Payload#STOP}. */
    static void ringPong(Path file) throws IOException {
        MappedByteBuffer map = map(file, false, RING_FILE_LENGTH);
        LONGS.setRelease(map, READY, 1L);
        Spin spin = new Spin(30_000_000_000L, "waiting for the ring's ping");
        for (long i = 0;; i++) {
            int slotA = ringSlot(RING_A, i);
            while ((long) LONGS.getAcquire(map, slotA) != i + 1) {
                if ((long) LONGS.getVolatile(map, WORD) == Payload.STOP) {
                    return;
                }
                spin.spin();
            }
            spin.reset();
            int slotB = ringSlot(RING_B, i);
            for (int w = 0; w < RING_WORDS; w++) {
                LONGS.set(map, slotB + RING_PAYLOAD + w * Long.BYTES, (long) LONGS.get(map, slotA + RING_PAYLOAD + w * Long.BYTES));
            }
            LONGS.setRelease(map, slotB, i + 1);
        }
    }

    private static int ringSlot(int ring, long position) {
        return ring + (int) (position & (RING_SLOTS - 1)) * RING_SLOT;
    }

    private static void writeRingMessage(MappedByteBuffer map, int slot, long seq) {
        LONGS.set(map, slot + RING_PAYLOAD, seq);
        for (int w = 1; w < RING_WORDS - 1; w++) {
            LONGS.set(map, slot + RING_PAYLOAD + w * Long.BYTES, (long) w);
        }
        LONGS.set(map, slot + RING_PAYLOAD + (RING_WORDS - 1) * Long.BYTES, seq);
    }

    private static MappedByteBuffer map(Path file, boolean create, int length) throws IOException {
        try (FileChannel channel = create
                ? FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            if (create) {
                channel.truncate(length);
                channel.write(java.nio.ByteBuffer.allocate(length), 0);
            }
            return channel.map(FileChannel.MapMode.READ_WRITE, 0, length);
        }
    }
}
