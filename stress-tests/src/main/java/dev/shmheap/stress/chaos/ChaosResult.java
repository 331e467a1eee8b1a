package dev.shmheap.stress.chaos;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The outcome of a chaos run; {@link #line()} is the summary line that scripts and
 * ChaosRunTest read by its {@code key=value} fields (stress-tests/CHAOS.md lists them). Keys
 * may be added at the end; existing ones keep their name and meaning.
 */
public record ChaosResult(ChaosConfig config, long kills, long ops, RecoveryTimes.Summary recovery, StallWatch.Summary stalls,
                          boolean verifyOk, long patternViolations, long workerFailures, int locksLeft, int deadRemoved,
                          BlockAccounting.Bytes bytes, List<String> details, Path logDir) {

    /**
     * The used bytes left lie in the range the killed workers' slots allow, and every used
     * buddy block left has the size of a block a killed worker held or had in flight.
     */
    public boolean leakExplained() {
        return bytes.unaccounted() >= bytes.explainedLow() && bytes.unaccounted() <= bytes.explainedHigh() && bytes.buddyLeakMatches();
    }

    /** What the exit status says: verify OK, no violation or failure, watchdog quiet. */
    public boolean passed() {
        return verifyOk && patternViolations == 0 && workerFailures == 0 && !stalls.watchdogFired();
    }

    public boolean watchdogFired() {
        return stalls.watchdogFired();
    }

    public String line() {
        return "chaos: workers=" + config.workers() + " seconds=" + config.seconds() + " seed=" + config.seed() + " kills=" + kills
                + " ops=" + ops + " recoveries=" + recovery.recoveries() + " recovery_p50_ms=" + millis(recovery.p50Millis())
                + " recovery_p99_ms=" + millis(recovery.p99Millis()) + " recovery_max_ms=" + millis(recovery.maxMillis())
                + " takeovers=" + recovery.takeovers() + " max_stall_ms=" + millis(stalls.maxStallMillis())
                + " watchdog=" + (stalls.watchdogFired() ? "FIRED" : "OK") + " verify=" + (verifyOk ? "OK" : "FAILED")
                + " pattern_violations=" + patternViolations + " worker_failures=" + workerFailures + " locks_left=" + locksLeft
                + " kills_in_flight=" + bytes.killsInFlight() + " reclaimed_bytes=" + bytes.reclaimed() + " dead_held_bytes="
                + bytes.deadHeld() + " unaccounted_bytes=" + bytes.unaccounted() + " explained_bytes=" + bytes.explainedLow() + ".."
                + bytes.explainedHigh() + " leak_explained=" + (leakExplained() ? "yes" : "no") + " reclaim=" + config.reclaim().label();
    }

    private static String millis(double ms) {
        return Double.isNaN(ms) ? "-" : String.format(Locale.ROOT, "%.2f", ms);
    }
}
