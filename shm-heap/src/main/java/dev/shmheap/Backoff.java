package dev.shmheap;

import dev.shmheap.internal.wait.SpinYieldPark;

/**
 * One wait for a condition in shared memory that another process will change: spin with
 * {@link Thread#onSpinWait()}, then yield, then park with pauses that double up to a cap,
 * until an optional deadline. The heap's lock waiters and the messaging wait loops all wait
 * this way, so a wait is cheap while the other side answers within nanoseconds and costs no
 * core while it takes milliseconds.
 *
 * <pre>{@code
 * Backoff backoff = Backoff.until(TimeUnit.SECONDS.toNanos(5));
 * while (!ready()) {
 *     if (!backoff.idle()) {
 *         throw new TimeoutException("not ready after " + backoff.elapsedNanos() + " ns");
 *     }
 * }
 * }</pre>
 *
 * <p>An instance serves one wait of one thread; {@link #reset()} starts it over. The steps
 * ({@link #idle()}, {@link #parking()}, {@link #remainingNanos()}, {@link #expired()},
 * {@link #elapsedNanos()}, {@link #reset()}) are the library's own wait, which its lock
 * waiters use too.
 */
public final class Backoff extends SpinYieldPark {
    /** Spins before the first yield: about a microsecond, the time another core takes to answer. */
    public static final int SPINS = SpinYieldPark.SPINS;
    /** Yields before the first park: lets a descheduled peer on this core run. */
    public static final int YIELDS = SpinYieldPark.YIELDS;
    /** The first park, in nanoseconds; each later park doubles it. */
    public static final long MIN_PARK_NANOS = SpinYieldPark.MIN_PARK_NANOS;
    /** The longest park unless a wait asks for another: bounds how late a waiter notices a change. */
    public static final long MAX_PARK_NANOS = SpinYieldPark.MAX_PARK_NANOS;
    /** A timeout that never expires. */
    public static final long NO_DEADLINE = SpinYieldPark.NO_DEADLINE;

    private Backoff(long timeoutNanos, int spins, int yields, long maxParkNanos) {
        super(timeoutNanos, spins, yields, maxParkNanos);
    }

    /** A wait that gives up {@code timeoutNanos} after it starts ({@link #NO_DEADLINE}: never). */
    public static Backoff until(long timeoutNanos) {
        return new Backoff(timeoutNanos, SPINS, YIELDS, MAX_PARK_NANOS);
    }

    /** Like {@link #until(long)}, with parks of at most {@code maxParkNanos}. */
    public static Backoff until(long timeoutNanos, long maxParkNanos) {
        return new Backoff(timeoutNanos, SPINS, YIELDS, maxParkNanos);
    }

    /**
     * A wait with its own phases: {@code spins} spins, {@code yields} yields, then parks of at
     * most {@code maxParkNanos}; for a waiter whose peer usually answers later than a lock
     * holder does (a consumer spins longer before it sleeps).
     *
     * @throws IllegalArgumentException if a count is negative, the timeout is negative or
     *                                  {@code maxParkNanos} is below {@link #MIN_PARK_NANOS}
     */
    public static Backoff of(long timeoutNanos, int spins, int yields, long maxParkNanos) {
        return new Backoff(timeoutNanos, spins, yields, maxParkNanos);
    }
}
