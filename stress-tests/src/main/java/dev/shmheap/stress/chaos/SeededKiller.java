package dev.shmheap.stress.chaos;

import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * When to kill and whom, from the run's seed: pauses drawn uniformly from
 * [{@code --kill-min-ms}, {@code --kill-max-ms}], and a victim drawn among the eligible slots.
 * The same seed gives the same sequence of draws; which instruction a SIGKILL lands on is
 * still up to the scheduler.
 *
 * <p>Eligible: a worker that has been completing operations for at least {@code --min-age-ms},
 * and only while at least one other worker completes operations too. Without that rule, on a
 * loaded two-core machine kills outpaced JVM start-up and at times every worker was a starting
 * JVM, so a "stall" measured start-up, not the heap (stress-tests/CHAOS.md).
 */
final class SeededKiller {
    /** When no worker may be killed yet, look again this much later instead of skipping the kill. */
    static final long RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final ChaosConfig config;
    private final Random random;
    private long nextKillNanos;

    SeededKiller(ChaosConfig config, long startNanos) {
        this.config = config;
        this.random = new Random(config.seed());
        this.nextKillNanos = startNanos + pause();
    }

    /**
     * The slot whose worker to kill at {@code now}, or -1: not yet time, or nobody eligible
     * (then the kill is retried after {@link #RETRY_NANOS}). After a kill call {@link #killed}.
     */
    int victim(long now, List<WorkerJvms.Worker> slots) {
        if (now - nextKillNanos < 0) {
            return -1;
        }
        long minAgeNanos = TimeUnit.MILLISECONDS.toNanos(config.minAgeMillis());
        int[] eligible = new int[slots.size()];
        int eligibleCount = 0;
        int churning = 0;
        for (int s = 0; s < slots.size(); s++) {
            WorkerJvms.Worker w = slots.get(s);
            if (w.churningSince() != 0 && w.process().isAlive()) {
                churning++;
                if (now - w.churningSince() >= minAgeNanos) {
                    eligible[eligibleCount++] = s;
                }
            }
        }
        if (eligibleCount == 0 || (config.workers() > 1 && churning < 2)) {
            nextKillNanos = now + RETRY_NANOS;
            return -1;
        }
        return eligible[random.nextInt(eligibleCount)];
    }

    /** Schedules the next kill a seeded pause after {@code now}, the end of this one. */
    void killed(long now) {
        nextKillNanos = now + pause();
    }

    private long pause() {
        long ms = config.killMinMillis() + (long) (random.nextDouble() * (config.killMaxMillis() - config.killMinMillis()));
        return TimeUnit.MILLISECONDS.toNanos(ms);
    }
}
