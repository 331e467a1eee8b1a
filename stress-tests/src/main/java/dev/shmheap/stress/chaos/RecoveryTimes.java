package dev.shmheap.stress.chaos;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Kill-to-recovered-operation times (stress-tests/CHAOS.md, "Recovery time, precisely"): the
 * kills, the lock takeovers every process reported, and how they match.
 *
 * <p>A takeover of a lock whose dead owner had pid P is credited to the latest kill of P
 * before it (pids are reused, kills are not). A kill's recovery time is the earliest
 * completion, minus the kill time, of an operation that took over one of its locks, in any
 * process. All times are {@code System.nanoTime()}, CLOCK_MONOTONIC, one clock for every
 * process on the host. Kills whose victim held no lock that someone later needed have no
 * recovery; the final {@code recover()}'s takeovers are {@code locks_left}, not recoveries.
 */
final class RecoveryTimes {
    /** The figures for the summary line; percentiles are nearest rank, NaN when there were no recoveries. */
    record Summary(long recoveries, double p50Millis, double p99Millis, double maxMillis, long takeovers, long poisonedRepairs) {
    }

    /** A kill and what is known of its recovery so far. */
    private static final class Entry {
        final WorkerJvms.Kill kill;
        long recoveredNanos = Long.MAX_VALUE;
        /** When the takeover of the first completed recovery happened. */
        long takenNanos;

        Entry(WorkerJvms.Kill kill) {
            this.kill = kill;
        }
    }

    private final Takeovers coordinatorLog;
    private final List<Entry> kills = new ArrayList<>();
    private final List<Takeovers.Completed> coordinatorTakeovers = new ArrayList<>();

    /** {@code coordinatorLog}: the takeovers this JVM makes, e.g. while freeing a dead worker's blocks. */
    RecoveryTimes(Takeovers coordinatorLog) {
        this.coordinatorLog = coordinatorLog;
    }

    void killed(WorkerJvms.Kill kill) {
        kills.add(new Entry(kill));
    }

    /** To call right after each heap call of the coordinator: its takeovers complete at {@code doneNanos}. */
    void coordinatorCallDone(long doneNanos) {
        for (Takeovers.Event e : coordinatorLog.drain()) {
            coordinatorTakeovers.add(new Takeovers.Completed(e.victimPid(), e.atNanos(), doneNanos, e.lock()));
        }
    }

    /**
     * Reads the takeover lines of every worker's output, matches them to the kills, and
     * summarises; adds one detail line per takeover and one with the breakdown of recovery
     * times into kill-to-takeover and takeover-to-completion.
     */
    Summary summarise(List<WorkerJvms.Worker> everyWorker, List<String> details) {
        coordinatorCallDone(System.nanoTime());
        List<Takeovers.Completed> all = new ArrayList<>(coordinatorTakeovers);
        List<WorkerJvms.Worker> takers = new ArrayList<>(Collections.nCopies(coordinatorTakeovers.size(), null));
        for (WorkerJvms.Worker w : everyWorker) {
            for (String line : lines(w.out())) {
                Takeovers.Completed c = Takeovers.Completed.parse(line);
                if (c != null) {
                    all.add(c);
                    takers.add(w);
                }
            }
        }
        long matched = 0;
        long poisoned = 0;
        for (int i = 0; i < all.size(); i++) {
            Takeovers.Completed c = all.get(i);
            if (c.victimPid() == 0) {
                poisoned++; // a lock released "marked for repair": no kill to credit
                continue;
            }
            Entry best = null;
            for (Entry k : kills) {
                if (k.kill.pid() == c.victimPid() && k.kill.atNanos() <= c.atNanos() && (best == null || k.kill.atNanos() > best.kill.atNanos())) {
                    best = k;
                }
            }
            if (best == null) {
                details.add("chaos: takeover of " + c.lock() + " from pid " + c.victimPid() + " matches no kill");
                continue;
            }
            matched++;
            if (c.doneNanos() < best.recoveredNanos) {
                best.recoveredNanos = c.doneNanos();
                best.takenNanos = c.atNanos();
            }
            details.add(String.format(Locale.ROOT, "chaos: takeover of %s from killed worker %d (reaped after %.1f ms): taken %.1f ms,"
                    + " op done %.1f ms after the kill, by %s", c.lock(), best.kill.workerId(), millis(best.kill.reapedNanos() - best.kill.atNanos()),
                    millis(c.atNanos() - best.kill.atNanos()), millis(c.doneNanos() - best.kill.atNanos()), taker(takers.get(i), best.kill)));
        }
        List<Entry> recovered = kills.stream().filter(k -> k.recoveredNanos != Long.MAX_VALUE).toList();
        double[] total = sorted(recovered.stream().mapToDouble(k -> millis(k.recoveredNanos - k.kill.atNanos())).toArray());
        double[] detect = sorted(recovered.stream().mapToDouble(k -> millis(k.takenNanos - k.kill.atNanos())).toArray());
        double[] finish = sorted(recovered.stream().mapToDouble(k -> millis(k.recoveredNanos - k.takenNanos)).toArray());
        double[] reap = sorted(kills.stream().mapToDouble(k -> millis(k.kill.reapedNanos() - k.kill.atNanos())).toArray());
        details.add(String.format(Locale.ROOT, "chaos: recovery = kill to takeover (p50 %.1f, p99 %.1f, max %.1f ms)"
                        + " + takeover to completed operation, repair included (p50 %.1f, p99 %.1f, max %.1f ms)",
                percentile(detect, 50), percentile(detect, 99), percentile(detect, 100), percentile(finish, 50), percentile(finish, 99),
                percentile(finish, 100)));
        details.add(String.format(Locale.ROOT, "chaos: SIGKILL to reaped (waitFor returned): p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                percentile(reap, 50), percentile(reap, 99), percentile(reap, 100)));
        return new Summary(total.length, percentile(total, 50), percentile(total, 99), percentile(total, 100), matched, poisoned);
    }

    /** Who took a lock over: the coordinator, a worker that ran at the kill, or one started after it (e.g. the victim's replacement). */
    private static String taker(WorkerJvms.Worker w, WorkerJvms.Kill kill) {
        if (w == null) {
            return "the coordinator";
        }
        long sinceKill = w.startedNanos() - kill.atNanos();
        return "worker " + w.id() + (sinceKill > 0 ? String.format(Locale.ROOT, " (started %.1f ms after the kill)", millis(sinceKill))
                : " (running at the kill)");
    }

    /** Nearest-rank percentile of sorted values; NaN for none. */
    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static double[] sorted(double[] values) {
        Arrays.sort(values);
        return values;
    }

    private static double millis(long nanos) {
        return nanos / 1e6;
    }

    static List<String> lines(Path file) {
        try {
            return Files.exists(file) ? Arrays.asList(Files.readString(file, StandardCharsets.UTF_8).split("\n")) : List.of();
        } catch (IOException e) {
            return List.of();
        }
    }
}
