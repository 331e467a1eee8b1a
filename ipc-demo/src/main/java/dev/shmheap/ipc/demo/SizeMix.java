package dev.shmheap.ipc.demo;

import java.util.SplittableRandom;

/**
 * Message sizes for the demo: fixed, or log-uniform in {@code [min, max]} (as many messages
 * between 64 B and 128 B as between 32 KiB and 64 KiB), from a seeded generator.
 */
final class SizeMix {
    private final int min;
    private final int max;
    private final SplittableRandom random;
    private final double logMin;
    private final double logSpan;

    SizeMix(int min, int max, long seed) {
        if (min < DemoMessage.HEADER_LENGTH || max < min) {
            throw new IllegalArgumentException("sizes must satisfy " + DemoMessage.HEADER_LENGTH + " <= min <= max: min=" + min + ", max=" + max);
        }
        this.min = min;
        this.max = max;
        this.random = new SplittableRandom(seed);
        this.logMin = Math.log(min);
        this.logSpan = Math.log(max + 1.0) - logMin;
    }

    int next() {
        if (min == max) {
            return min;
        }
        int size = (int) Math.exp(logMin + random.nextDouble() * logSpan);
        return Math.max(min, Math.min(max, size));
    }

    @Override
    public String toString() {
        return min == max ? min + " B" : min + ".." + max + " B (log-uniform)";
    }
}
