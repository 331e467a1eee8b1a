package dev.shmheap.stress.chaos;

import java.util.concurrent.TimeUnit;

/**
 * The watchdog and stall watcher: sampled by the coordinator's loop with the latest time any
 * worker completed an operation (each worker publishes its own in its slot), it keeps the
 * longest quiet time and says when to take thread dumps and when to give up.
 *
 * <p>Invariant: before the first operation of any worker, quiet time counts from the start and
 * only {@link #STARTUP_GRACE_NANOS} fires the watchdog (JVM start-up is no stall, and is not
 * part of {@code max_stall_ms}); from the first operation on, {@link #WATCHDOG_NANOS} does.
 * A stall is a time in which no worker completed an operation, whatever the reason: a wedged
 * lock, a repair, or a machine too busy to run the workers.
 */
final class StallWatch {
    /** No operation for this long means something is wedged: far above any repair or worker start-up seen under load (CHAOS.md). */
    static final long WATCHDOG_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** Before the first operation of any worker the watchdog allows JVM start-up this long. */
    static final long STARTUP_GRACE_NANOS = TimeUnit.SECONDS.toNanos(60);

    /** What a sample calls for. */
    enum Verdict {
        CARRY_ON,
        /** The quiet time just passed --dump-stalls-ms: take thread dumps, once per stall. */
        DUMP_THREADS,
        /** The watchdog fired: stop the run. */
        FIRED
    }

    /** The figures for the summary line. */
    record Summary(double maxStallMillis, double maxStallAtSeconds, boolean watchdogFired) {
    }

    private final long startNanos;
    private final long dumpStallsNanos;
    private long lastProgressNanos;
    private long quietNanos;
    private long maxStallNanos;
    private long maxStallAtNanos;
    private boolean dumpedThisStall;
    private boolean fired;

    /** {@code dumpStallsNanos} 0: never ask for thread dumps. */
    StallWatch(long startNanos, long dumpStallsNanos) {
        this.startNanos = startNanos;
        this.dumpStallsNanos = dumpStallsNanos;
    }

    /** Takes in the latest completion time the workers published (0: none yet) at {@code now}. */
    Verdict sample(long now, long latestCompletionNanos) {
        lastProgressNanos = Math.max(lastProgressNanos, latestCompletionNanos);
        boolean started = lastProgressNanos != 0;
        quietNanos = started ? now - lastProgressNanos : now - startNanos;
        if (started && quietNanos > maxStallNanos) {
            maxStallNanos = quietNanos;
            maxStallAtNanos = now;
        }
        if (quietNanos > (started ? WATCHDOG_NANOS : STARTUP_GRACE_NANOS)) {
            fired = true;
            return Verdict.FIRED;
        }
        if (dumpStallsNanos > 0 && started) {
            if (quietNanos > dumpStallsNanos && !dumpedThisStall) {
                dumpedThisStall = true;
                return Verdict.DUMP_THREADS;
            }
            if (quietNanos < dumpStallsNanos) {
                dumpedThisStall = false;
            }
        }
        return Verdict.CARRY_ON;
    }

    /** The quiet time at the last sample. */
    long quietNanos() {
        return quietNanos;
    }

    Summary summary() {
        return new Summary(maxStallNanos / 1e6, maxStallNanos == 0 ? 0 : (maxStallAtNanos - startNanos) / 1e9, fired);
    }
}
