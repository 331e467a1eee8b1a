package dev.shmheap.bench.messaging;

import org.HdrHistogram.Histogram;

/**
 * Round-trip latencies of one ping-pong run, in nanoseconds.
 *
 * @param count round trips measured (after warm-up)
 */
record RoundTrip(long count, long p50, long p99, long p999, long max) {
    static Histogram newHistogram() {
        return new Histogram(60_000_000_000L, 3);
    }

    static RoundTrip of(Histogram h) {
        return new RoundTrip(h.getTotalCount(), h.getValueAtPercentile(50), h.getValueAtPercentile(99),
                h.getValueAtPercentile(99.9), h.getMaxValue());
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "p50 %.2f us, p99 %.2f us, p99.9 %.2f us, max %.1f us (%,d round trips)",
                p50 / 1e3, p99 / 1e3, p999 / 1e3, max / 1e3, count);
    }
}
