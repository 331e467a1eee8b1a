package dev.shmheap.internal.wait;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The library's one wait for a condition in shared memory that another process will change: spin with
 * {@link Thread#onSpinWait()}, then yield, then park with pauses that double up to a cap,
 * until an optional deadline. The heap's lock waiters and the messaging wait loops all wait
 * this way, so a wait is cheap while the other side answers within nanoseconds and costs no
 * core while it takes milliseconds.
 *
 * <p>An instance serves one wait of one thread; {@link #reset()} starts it over. The public
 * {@code dev.shmheap.Backoff} is this wait under its API name; the library's own waiters (lock
 * waits, consistent reads) use this class, so that no internal package depends on the API's.
 */
public class SpinYieldPark {
    /** Spins before the first yield: about a microsecond, the time another core takes to answer. */
    public static final int SPINS = 128;
    /** Yields before the first park: lets a descheduled peer on this core run. */
    public static final int YIELDS = 32;
    /** The first park, in nanoseconds; each later park doubles it. */
    public static final long MIN_PARK_NANOS = TimeUnit.MICROSECONDS.toNanos(1);
    /** The longest park unless a wait asks for another: bounds how late a waiter notices a change. */
    public static final long MAX_PARK_NANOS = TimeUnit.MICROSECONDS.toNanos(500);
    /** A timeout that never expires. */
    public static final long NO_DEADLINE = Long.MAX_VALUE;

    private final long timeoutNanos;
    private final int spins;
    private final int yields;
    private final long maxParkNanos;
    private long start;
    private int step;
    private long park;

    protected SpinYieldPark(long timeoutNanos, int spins, int yields, long maxParkNanos) {
        if (spins < 0 || yields < 0) {
            throw new IllegalArgumentException("spins=" + spins + " and yields=" + yields + " must not be negative");
        }
        if (timeoutNanos < 0) {
            throw new IllegalArgumentException("timeoutNanos=" + timeoutNanos + " must not be negative");
        }
        if (maxParkNanos < MIN_PARK_NANOS) {
            throw new IllegalArgumentException("maxParkNanos=" + maxParkNanos + " must be at least " + MIN_PARK_NANOS);
        }
        this.timeoutNanos = timeoutNanos;
        this.spins = spins;
        this.yields = yields;
        this.maxParkNanos = maxParkNanos;
        reset();
    }

    /** A wait that gives up {@code timeoutNanos} after it starts ({@link #NO_DEADLINE}: never). */
    public static SpinYieldPark until(long timeoutNanos) {
        return new SpinYieldPark(timeoutNanos, SPINS, YIELDS, MAX_PARK_NANOS);
    }

    /** Like {@link #until(long)}, with parks of at most {@code maxParkNanos}. */
    public static SpinYieldPark until(long timeoutNanos, long maxParkNanos) {
        return new SpinYieldPark(timeoutNanos, SPINS, YIELDS, maxParkNanos);
    }

    /**
     * A wait with its own phases: {@code spins} spins, {@code yields} yields, then parks of at
     * most {@code maxParkNanos}; for a waiter whose peer usually answers later than a lock
     * holder does (a consumer spins longer before it sleeps).
     */
    public static SpinYieldPark of(long timeoutNanos, int spins, int yields, long maxParkNanos) {
        return new SpinYieldPark(timeoutNanos, spins, yields, maxParkNanos);
    }

    /**
     * Waits one step. Returns {@code false}, without waiting, once the deadline has passed;
     * the caller then gives up (after checking its condition once more if it likes).
     */
    public final boolean idle() {
        if (step < spins) {
            step++;
            Thread.onSpinWait();
            return true;
        }
        if (step < spins + yields) {
            step++;
            Thread.yield();
            return true;
        }
        long remaining = remainingNanos();
        if (remaining <= 0) {
            return false;
        }
        LockSupport.parkNanos(Math.min(park, remaining));
        park = Math.min(park * 2, maxParkNanos);
        return true;
    }

    /**
     * Whether the wait has moved past spinning and yielding: from now on each step is a park,
     * so a check that costs a system call (is the other process alive?) is cheap beside it.
     */
    public final boolean parking() {
        return step >= spins + yields;
    }

    /** Nanoseconds until the deadline (never negative past it: 0), or {@link Long#MAX_VALUE} without one. */
    public final long remainingNanos() {
        if (timeoutNanos == NO_DEADLINE) {
            return Long.MAX_VALUE;
        }
        return Math.max(0, timeoutNanos - elapsedNanos());
    }

    public final boolean expired() {
        return timeoutNanos != NO_DEADLINE && elapsedNanos() >= timeoutNanos;
    }

    public final long elapsedNanos() {
        return System.nanoTime() - start;
    }

    /** Starts the wait over: spinning again, the deadline counted from now. */
    public final void reset() {
        start = System.nanoTime();
        step = 0;
        park = MIN_PARK_NANOS;
    }
}
