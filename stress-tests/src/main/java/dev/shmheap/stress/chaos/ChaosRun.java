package dev.shmheap.stress.chaos;

import dev.shmheap.ShmHeap;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The chaos run ("survive kill -9"), its coordinator: creates a heap, keeps N {@link ChaosWorker}
 * JVMs churning on it, SIGKILLs a random one at seeded random moments and starts a replacement,
 * and at the end stops the workers, recovers and verifies the heap and prints one summary line:
 *
 * <pre>
 * chaos: workers=4 seconds=60 seed=1 kills=37 ops=1234567 recoveries=12 recovery_p50_ms=1.20 ... verify=OK pattern_violations=0 ...
 * </pre>
 *
 * <p>The parts: {@link ChaosConfig} (the command line), {@link WorkerJvms} (the processes),
 * {@link SeededKiller} (when and whom to kill), {@link StallWatch} (the watchdog),
 * {@link BlockAccounting} with a {@link Reclamation} (where the bytes went), {@link RecoveryTimes}
 * and {@link ChaosResult} (the figures). This class is the loop that runs them: every
 * {@link #LOOP_PAUSE_MILLIS} it replaces workers that exited on their own (each one a failure),
 * samples the watchdog, and kills when the schedule says so; a kill is followed at once by the
 * accounting of the victim's slot and by its replacement.
 *
 * <p>Exit status 0 only if verify is OK, no pattern was broken, the watchdog never fired and
 * every worker that was not killed stopped cleanly. See stress-tests/CHAOS.md.
 */
public final class ChaosRun {
    /** The loop's period: how late a kill or a stall can be noticed. Recovery times do not depend on it (they start at the kill). */
    static final long LOOP_PAUSE_MILLIS = 2;
    /** The run gives up once more workers failed than this many per slot: the failures are reported, more add nothing. */
    static final int MAX_FAILURES_PER_SLOT = 4;

    private final ChaosConfig config;
    private final ShmHeap heap;
    private final Path logDir;
    private final List<String> details = new ArrayList<>();
    private final RecoveryTimes recovery;
    private final BlockAccounting accounting;
    private final WorkerJvms workers;

    private ChaosRun(ChaosConfig config, ShmHeap heap, Path logDir, Takeovers coordinatorTakeovers) {
        this.config = config;
        this.heap = heap;
        this.logDir = logDir;
        long control = ControlBlock.create(heap, config.workers(), ControlBlock.LEDGER_ENTRIES);
        this.recovery = new RecoveryTimes(coordinatorTakeovers);
        this.accounting = new BlockAccounting(heap, control, config.reclaim(), () -> recovery.coordinatorCallDone(System.nanoTime()));
        this.workers = new WorkerJvms(heap, control, config, logDir);
    }

    public static void main(String[] args) throws Exception {
        ChaosConfig config;
        try {
            config = ChaosConfig.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("chaos: " + e.getMessage());
            System.err.println(ChaosConfig.USAGE);
            System.exit(2);
            return;
        }
        ChaosResult result = run(config);
        if (config.verbose() || !result.passed()) {
            result.details().forEach(System.out::println);
        }
        System.out.println(result.line());
        System.out.flush();
        System.exit(result.passed() ? 0 : 1);
    }

    /** Runs the chaos run of {@code config} to its end; deletes the heap (unless --keep) and, if it passed, the logs. */
    public static ChaosResult run(ChaosConfig config) throws IOException, InterruptedException {
        Path heapPath = heapFile(config.heap(), config.capacityBytes());
        Path logDir = Files.createTempDirectory("shm-heap-chaos-");
        Takeovers.plainLibraryLog(true);
        boolean passed = false;
        try (ShmHeap heap = ShmHeap.create(heapPath, config.capacityBytes(), config.reclaim().createOptions())) {
            ChaosRun run = new ChaosRun(config, heap, logDir, Takeovers.listenTo(heap));
            try (WorkerJvms ignored = run.workers) {
                ChaosResult result = run.execute();
                passed = result.passed();
                return result;
            }
        } finally {
            if (!config.keep()) {
                Files.deleteIfExists(heapPath);
            }
            if (passed && !config.keep()) {
                deleteRecursively(logDir);
            }
        }
    }

    private ChaosResult execute() throws IOException, InterruptedException {
        details.add("chaos: heap=" + heap.path() + " capacity=" + config.capacityBytes() + " held_limit=" + config.heldLimit() + " reclaim="
                + config.reclaim().label() + " logs=" + logDir);
        long startNanos = System.nanoTime();
        long deadline = startNanos + TimeUnit.SECONDS.toNanos(config.seconds());
        SeededKiller killer = new SeededKiller(config, startNanos);
        StallWatch watch = new StallWatch(startNanos, TimeUnit.MILLISECONDS.toNanos(config.dumpStallsMillis()));
        workers.startAll();
        long kills = 0;
        boolean watchdog = false;
        for (long now = System.nanoTime(); now - deadline < 0; now = System.nanoTime()) {
            replaceWorkersThatExited();
            if (accounting.failedWorkers() > (long) MAX_FAILURES_PER_SLOT * config.workers()) {
                accounting.note("run stopped early: " + accounting.failedWorkers() + " workers failed");
                break;
            }
            now = System.nanoTime();
            StallWatch.Verdict verdict = watch.sample(now, workers.latestCompletionNanos());
            if (verdict == StallWatch.Verdict.FIRED) {
                watchdog = true;
                accounting.note("watchdog: no worker completed an operation for " + TimeUnit.NANOSECONDS.toMillis(watch.quietNanos()) + " ms");
                break;
            }
            if (verdict == StallWatch.Verdict.DUMP_THREADS) {
                details.add(String.format(Locale.ROOT, "chaos: stall of %.0f ms at t=%.3fs: SIGQUIT to every worker (thread dumps in"
                        + " their .out files)", watch.quietNanos() / 1e6, (now - startNanos) / 1e9));
                workers.threadDumps(0, details);
            }
            workers.noteChurning(now);
            int victim = killer.victim(now, workers.current());
            if (victim >= 0) {
                killAndReplace(victim);
                kills++;
                killer.killed(System.nanoTime());
            }
            Thread.sleep(LOOP_PAUSE_MILLIS);
        }
        stopAll(watchdog);
        StallWatch.Summary stalls = watch.summary();
        details.add(String.format(Locale.ROOT, "chaos: longest time without a completed operation: %.1f ms, ending t=%.3fs",
                stalls.maxStallMillis(), stalls.maxStallAtSeconds()));
        // Takeovers the coordinator made while reclaiming count as recoveries; those of the
        // final recover() do not (nothing needed those locks during the run): summarise first.
        RecoveryTimes.Summary recoveries = recovery.summarise(workers.everyWorker(), details);
        BlockAccounting.End end = accounting.finish(details);
        return new ChaosResult(config, kills, accounting.ops(), recoveries, stalls, end.verify().ok(), accounting.patternViolations(),
                accounting.workerFailures(), end.recovery().locksTakenOver(), end.recovery().deadProcessesRemoved(), end.bytes(),
                List.copyOf(details), logDir);
    }

    /** A worker that exited without being killed is a failure (or a pattern violation); its slot gets a new worker. */
    private void replaceWorkersThatExited() throws IOException {
        List<WorkerJvms.Worker> current = workers.current();
        for (int s = 0; s < current.size(); s++) {
            WorkerJvms.Worker w = current.get(s);
            if (!w.process().isAlive()) {
                accounting.exitedOnItsOwn(w);
                accounting.reap(w, null, details);
                workers.replace(s);
            }
        }
    }

    private void killAndReplace(int slot) throws IOException, InterruptedException {
        WorkerJvms.Worker w = workers.current().get(slot);
        WorkerJvms.Kill kill = workers.kill(w);
        recovery.killed(kill);
        if (!kill.exited()) {
            accounting.workerFailure("worker " + w.id() + " (pid " + w.pid() + ") still runs " + WorkerJvms.EXIT_AFTER_KILL_SECONDS
                    + " s after SIGKILL");
        }
        accounting.reap(w, kill, details);
        workers.replace(slot);
    }

    /** Stops every worker (or, after the watchdog fired, kills them) and accounts for each. */
    private void stopAll(boolean watchdog) throws InterruptedException {
        if (watchdog) {
            workers.dumpAndKillAll(details);
            for (WorkerJvms.Worker w : workers.current()) {
                accounting.reap(w, null, details);
            }
            return;
        }
        List<WorkerJvms.Worker> hung = workers.stopAll(details);
        for (WorkerJvms.Worker w : workers.current()) {
            if (hung.contains(w)) {
                accounting.workerFailure("worker " + w.id() + " (pid " + w.pid() + ") did not stop within "
                        + TimeUnit.NANOSECONDS.toSeconds(WorkerJvms.STOP_TIMEOUT_NANOS) + " s; thread dump in " + w.out());
            } else if (w.process().exitValue() != 0) {
                accounting.exitedOnItsOwn(w);
            }
            accounting.reap(w, null, details);
        }
    }

    /**
     * The heap file: {@code requested} if it is not a directory; else a new name in it; else in
     * /dev/shm when it has room for twice the capacity, falling back to java.io.tmpdir.
     */
    static Path heapFile(Path requested, long capacity) throws IOException {
        String name = "shm-heap-chaos-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".heap";
        if (requested != null) {
            return Files.isDirectory(requested) ? requested.resolve(name) : requested;
        }
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm) && Files.getFileStore(shm).getUsableSpace() > 2 * capacity) {
            return shm.resolve(name);
        }
        return Path.of(System.getProperty("java.io.tmpdir")).resolve(name);
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
