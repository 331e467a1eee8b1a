package dev.shmheap.ipc.bridge;

import dev.shmheap.Backoff;

import java.util.concurrent.TimeUnit;

/**
 * How every wait of the bridge waits: the library's {@link Backoff} (spin, yield, then parks that
 * double up to {@link #MAX_PARK_NANOS}), so that a busy stream is served within microseconds and
 * an idle one costs no core.
 */
final class BridgeWait {
    /** Longest park: a waiting half notices a message, room or a (re)connected peer within a millisecond. */
    static final long MAX_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private BridgeWait() {
    }

    /** A wait that gives up {@code timeoutNanos} after it starts. */
    static Backoff until(long timeoutNanos) {
        return Backoff.until(timeoutNanos, MAX_PARK_NANOS);
    }

    /** A wait without deadline, for a loop that runs until it is stopped; {@link Backoff#reset()} it on traffic. */
    static Backoff forever() {
        return until(Backoff.NO_DEADLINE);
    }
}
