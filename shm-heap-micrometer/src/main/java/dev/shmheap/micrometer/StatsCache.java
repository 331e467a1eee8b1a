package dev.shmheap.micrometer;

import dev.shmheap.HeapStats;

import java.time.Duration;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The heap's stats, read again only when the last read is older than {@code maxAge}: a scrape
 * reads some forty meters, and each stats read walks the heap's holder map. Thread-safe.
 */
final class StatsCache {
    private final Supplier<HeapStats> source;
    private final long maxAgeNanos;
    /** Guarded by {@code this}. */
    private HeapStats last;
    private long lastNanos;

    StatsCache(Supplier<HeapStats> source, Duration maxAge) {
        this.source = source;
        this.maxAgeNanos = maxAge.toNanos();
    }

    synchronized HeapStats get() {
        long now = System.nanoTime();
        if (last == null || now - lastNanos >= maxAgeNanos) {
            last = source.get();
            lastNanos = now;
        }
        return last;
    }

    /** One figure of the current stats; NaN once the heap is closed (a meter must not throw into the registry). */
    double read(ToDoubleFunction<HeapStats> figure) {
        try {
            return figure.applyAsDouble(get());
        } catch (IllegalStateException closed) {
            return Double.NaN;
        }
    }
}
