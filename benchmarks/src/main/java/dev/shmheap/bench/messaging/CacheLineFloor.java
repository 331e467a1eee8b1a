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

    private CacheLineFloor() {
    }

    /** Runs ping here and pong in a peer JVM; removes the file it creates. */
    static RoundTrip measure(Path directory, long warmup, long count) throws IOException, InterruptedException {
        Path file = directory.resolve("msgbench-floor-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".bin");
        try {
            MappedByteBuffer map = map(file, true);
            try (PeerJvm peer = PeerJvm.start(Peer.FLOOR_PONG, file.toString())) {
                Spin ready = new Spin(60_000_000_000L, "waiting for the floor's pong JVM");
                while ((long) LONGS.getVolatile(map, READY) == 0) {
                    peer.checkAlive();
                    ready.spin();
                }
                Histogram histogram = RoundTrip.newHistogram();
                Spin spin = new Spin(30_000_000_000L, "waiting for the floor's pong");
                long n = 1;
                for (long i = 0; i < warmup + count; i++, n += 2) {
                    long start = System.nanoTime();
                    LONGS.setRelease(map, WORD, n);
                    while ((long) LONGS.getAcquire(map, WORD) != n + 1) {
                        spin.spin();
                    }
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
        MappedByteBuffer map = map(file, false);
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

    private static MappedByteBuffer map(Path file, boolean create) throws IOException {
        try (FileChannel channel = create
                ? FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            if (create) {
                channel.truncate(FILE_LENGTH);
                channel.write(java.nio.ByteBuffer.allocate(FILE_LENGTH), 0);
            }
            return channel.map(FileChannel.MapMode.READ_WRITE, 0, FILE_LENGTH);
        }
    }
}
