package dev.shmheap.bench.messaging;

import java.util.SplittableRandom;

/**
 * The bytes every benchmark message carries, the same for both transports: the sequence number
 * in the first and in the last 8 bytes, and between them bytes copied from a fixed template.
 * The sender writes the whole payload for every message ("produces" it); the receiver checks
 * both sequence words, so a message that arrived only in part, late or twice is caught.
 */
final class Payload {
    /** Smallest payload: the two sequence words. */
    static final int MIN_SIZE = 2 * Long.BYTES;
    /** Largest payload the benchmarks send. */
    static final int MAX_SIZE = 64 << 10;
    /** A sequence number no data message carries: tells an echo peer to stop. */
    static final long STOP = -1;

    /** Template of the bytes between the two sequence words (deterministic, not compressible). */
    static final byte[] TEMPLATE = template();

    private Payload() {
    }

    private static byte[] template() {
        byte[] bytes = new byte[MAX_SIZE];
        new SplittableRandom(42).nextBytes(bytes);
        return bytes;
    }

    /** Offset of the trailing sequence word in a payload of {@code size} bytes. */
    static int trailer(int size) {
        return size - Long.BYTES;
    }

    /** Bytes of template between the two sequence words. */
    static int body(int size) {
        return size - MIN_SIZE;
    }

    static void checkSize(int size) {
        if (size < MIN_SIZE || size > MAX_SIZE) {
            throw new IllegalArgumentException("payload size " + size + " must be in [" + MIN_SIZE + ", " + MAX_SIZE + "]");
        }
    }

    static IllegalStateException mismatch(String where, long expected, long front, long back) {
        return new IllegalStateException(where + ": expected message " + expected + ", got leading sequence " + front
                + " and trailing sequence " + back);
    }
}
