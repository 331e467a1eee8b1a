package dev.shmheap.ipc.fanout;

import java.util.concurrent.locks.LockSupport;

/** Spin, then yield, then park with a doubling period up to {@link #MAX_PARK_NANOS}: the one wait loop of this package. */
final class Backoff {
    /** Spins before yielding: a message usually follows within a few hundred nanoseconds under load. */
    private static final int SPINS = 200;
    private static final int YIELDS = 20;
    private static final long MIN_PARK_NANOS = 1_000;
    /** Longest sleep: bounds the reaction time to a message that arrives while parked. */
    static final long MAX_PARK_NANOS = 1_000_000;

    private int attempt;
    private long park = MIN_PARK_NANOS;

    void reset() {
        attempt = 0;
        park = MIN_PARK_NANOS;
    }

    /** Waits once, never beyond {@code remainingNanos}. */
    void idle(long remainingNanos) {
        if (attempt < SPINS) {
            Thread.onSpinWait();
        } else if (attempt < SPINS + YIELDS) {
            Thread.yield();
        } else {
            LockSupport.parkNanos(Math.max(1, Math.min(park, remainingNanos)));
            park = Math.min(park * 2, MAX_PARK_NANOS);
        }
        attempt++;
    }
}
