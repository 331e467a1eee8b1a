package dev.shmheap.stress.chaos;

import dev.shmheap.testkit.BlockPattern;
import dev.shmheap.HeapStats;
import dev.shmheap.JvmFlags;
import dev.shmheap.RecoveryReport;
import dev.shmheap.ShmHeap;
import dev.shmheap.VerifyReport;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.shmheap.stress.chaos.ControlBlock.*;

/**
 * The chaos run ("survive kill -9"): creates a heap, keeps N {@link ChaosWorker} JVMs churning
 * on it, SIGKILLs a random one at seeded random moments and starts a replacement, and at the
 * end stops the workers, recovers and verifies the heap and prints one summary line:
 *
 * <pre>
 * chaos: workers=4 seconds=60 seed=1 kills=37 ops=1234567 recoveries=12 recovery_p50_ms=1.20 ... verify=OK pattern_violations=0 ...
 * </pre>
 *
 * <p>One control loop (every 2 ms) is killer, watchdog and reaper at once: it kills when the
 * seeded schedule says so, fails the run when no worker has completed an operation for
 * {@link #WATCHDOG_NANOS}, and replaces workers that exit on their own (a violation). After a
 * kill it waits for the victim to be gone and, unless {@code --no-reclaim}, frees the blocks
 * listed in the victim's ledger (checking their patterns first), see {@link ControlBlock}.
 *
 * <p>Usage: {@code ChaosRun [HEAP_FILE_OR_DIR] [--workers N] [--seconds S] [--seed X]
 * [--capacity-mib M] [--held-kib K] [--kill-min-ms A] [--kill-max-ms B] [--min-age-ms C] [--no-reclaim]
 * [--warm-native] [--dump-stalls-ms D] [--keep] [--verbose]}. Exit status 0 only if verify is OK, no pattern was broken, the watchdog never
 * fired and every worker that was not killed stopped cleanly. See stress-tests/CHAOS.md.
 */
public final class ChaosRun {
    static final int LEDGER_ENTRIES = 512;
    static final long WATCHDOG_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** Before the first operation of any worker the watchdog allows JVM start-up this long. */
    static final long STARTUP_GRACE_NANOS = TimeUnit.SECONDS.toNanos(60);
    static final long STOP_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(60);
    private static final long LOOP_PAUSE_MILLIS = 2;

    /** What to run. {@code heap} may be a file to create, a directory, or null for the default. */
    public record Config(Path heap, int workers, long seconds, long seed, long capacityBytes, long heldLimitBytes,
                         long killMinMillis, long killMaxMillis, long minAgeMillis, boolean reclaim, boolean warmNative,
                         long dumpStallsMillis, boolean keep, boolean verbose) {
        public Config {
            if (workers < 1 || workers > 64) {
                throw new IllegalArgumentException("workers=" + workers + " must be in 1..64");
            }
            if (seconds < 1) {
                throw new IllegalArgumentException("seconds=" + seconds + " must be positive");
            }
            if (minAgeMillis < 0 || dumpStallsMillis < 0) {
                throw new IllegalArgumentException("minAgeMillis=" + minAgeMillis + " dumpStallsMillis=" + dumpStallsMillis
                        + " must not be negative");
            }
            if (killMinMillis < 1 || killMaxMillis < killMinMillis) {
                throw new IllegalArgumentException("kill interval [" + killMinMillis + ", " + killMaxMillis + "] ms is not valid");
            }
            if (capacityBytes < (8L << 20)) {
                throw new IllegalArgumentException("capacityBytes=" + capacityBytes + " must be at least 8 MiB");
            }
        }

        public static Config defaults() {
            return new Config(null, 4, 60, System.nanoTime() & 0xFFFF_FFFFL, 64L << 20, 0, 500, 2000, 1000, true, false, 0, false, false);
        }

        public Config withWorkers(int n) {
            return new Config(heap, n, seconds, seed, capacityBytes, heldLimitBytes, killMinMillis, killMaxMillis, minAgeMillis, reclaim, warmNative,
                    dumpStallsMillis, keep, verbose);
        }

        public Config withSeconds(long s) {
            return new Config(heap, workers, s, seed, capacityBytes, heldLimitBytes, killMinMillis, killMaxMillis, minAgeMillis, reclaim, warmNative,
                    dumpStallsMillis, keep, verbose);
        }

        public Config withSeed(long s) {
            return new Config(heap, workers, seconds, s, capacityBytes, heldLimitBytes, killMinMillis, killMaxMillis, minAgeMillis, reclaim, warmNative,
                    dumpStallsMillis, keep, verbose);
        }

        /** Bytes each worker may hold: as given, else a quarter of the heap shared among the workers. */
        long heldLimit() {
            return heldLimitBytes > 0 ? heldLimitBytes : capacityBytes / (4L * workers);
        }
    }

    /** The outcome; {@link #line()} is the summary line. */
    public record Result(Config config, long kills, long ops, long recoveries, double recoveryP50Millis, double recoveryP99Millis,
                         double recoveryMaxMillis, long takeovers, long poisonedRepairs, double maxStallMillis, boolean watchdogFired,
                         boolean verifyOk, long patternViolations, long workerFailures, int locksLeft, int deadRemoved,
                         long reclaimedBytes, long deadHeldBytes, long killsInFlight, long unaccountedBytes, long explainedLow,
                         long explainedHigh, boolean buddyLeakMatches, List<String> details, Path logDir) {

        /**
         * The used bytes left lie in the range the killed workers' slots allow, and every used
         * buddy block left has the size of an allocation a killed worker had in flight.
         */
        public boolean leakExplained() {
            return unaccountedBytes >= explainedLow && unaccountedBytes <= explainedHigh && buddyLeakMatches;
        }

        /** What the exit status says: verify OK, no violation or failure, watchdog quiet. */
        public boolean passed() {
            return verifyOk && patternViolations == 0 && workerFailures == 0 && !watchdogFired;
        }

        public String line() {
            return "chaos: workers=" + config.workers() + " seconds=" + config.seconds() + " seed=" + config.seed() + " kills=" + kills
                    + " ops=" + ops + " recoveries=" + recoveries + " recovery_p50_ms=" + millis(recoveryP50Millis)
                    + " recovery_p99_ms=" + millis(recoveryP99Millis) + " recovery_max_ms=" + millis(recoveryMaxMillis)
                    + " takeovers=" + takeovers + " max_stall_ms=" + millis(maxStallMillis) + " watchdog=" + (watchdogFired ? "FIRED" : "OK")
                    + " verify=" + (verifyOk ? "OK" : "FAILED") + " pattern_violations=" + patternViolations + " worker_failures="
                    + workerFailures + " locks_left=" + locksLeft + " kills_in_flight=" + killsInFlight + " reclaimed_bytes=" + reclaimedBytes
                    + " dead_held_bytes=" + deadHeldBytes + " unaccounted_bytes=" + unaccountedBytes + " explained_bytes=" + explainedLow
                    + ".." + explainedHigh + " leak_explained=" + (leakExplained() ? "yes" : "no");
        }

        private static String millis(double ms) {
            return Double.isNaN(ms) ? "-" : String.format(Locale.ROOT, "%.2f", ms);
        }
    }

    public static void main(String[] args) throws Exception {
        Config config;
        try {
            config = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("chaos: " + e.getMessage());
            System.err.println("usage: ChaosRun [HEAP_FILE_OR_DIR] [--workers N] [--seconds S] [--seed X] [--capacity-mib M] [--held-kib K]"
                    + " [--kill-min-ms A] [--kill-max-ms B] [--min-age-ms C] [--no-reclaim] [--warm-native] [--dump-stalls-ms D] [--keep]"
                    + " [--verbose]");
            System.exit(2);
            return;
        }
        Result result = run(config);
        if (config.verbose() || !result.passed()) {
            result.details().forEach(System.out::println);
        }
        System.out.println(result.line());
        System.out.flush();
        System.exit(result.passed() ? 0 : 1);
    }

    static Config parse(String[] args) {
        Config d = Config.defaults();
        Path heap = null;
        int workers = d.workers();
        long seconds = d.seconds();
        long seed = d.seed();
        long capacity = d.capacityBytes();
        long held = 0;
        long killMin = d.killMinMillis();
        long killMax = d.killMaxMillis();
        long minAge = d.minAgeMillis();
        long dumpStalls = 0;
        boolean reclaim = true;
        boolean warmNative = false;
        boolean keep = false;
        boolean verbose = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--workers" -> workers = Integer.parseInt(value(args, ++i, a));
                case "--seconds" -> seconds = Long.parseLong(value(args, ++i, a));
                case "--minutes" -> seconds = 60 * Long.parseLong(value(args, ++i, a));
                case "--seed" -> seed = Long.parseLong(value(args, ++i, a));
                case "--capacity-mib" -> capacity = Long.parseLong(value(args, ++i, a)) << 20;
                case "--held-kib" -> held = Long.parseLong(value(args, ++i, a)) << 10;
                case "--kill-min-ms" -> killMin = Long.parseLong(value(args, ++i, a));
                case "--kill-max-ms" -> killMax = Long.parseLong(value(args, ++i, a));
                case "--min-age-ms" -> minAge = Long.parseLong(value(args, ++i, a));
                case "--dump-stalls-ms" -> dumpStalls = Long.parseLong(value(args, ++i, a));
                case "--no-reclaim" -> reclaim = false;
                case "--warm-native" -> warmNative = true;
                case "--keep" -> keep = true;
                case "--verbose" -> verbose = true;
                default -> {
                    if (a.startsWith("--") || heap != null) {
                        throw new IllegalArgumentException("unknown argument " + a);
                    }
                    heap = Path.of(a);
                }
            }
        }
        return new Config(heap, workers, seconds, seed, capacity, held, killMin, killMax, minAge, reclaim, warmNative, dumpStalls, keep,
                verbose);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    /** Runs the chaos run of {@code config} to its end. */
    public static Result run(Config config) throws IOException, InterruptedException {
        return new ChaosRun(config).execute();
    }

    // ---- one run ----

    /** A worker JVM in a slot. */
    private static final class Worker {
        final int slot;
        final int id;
        final Process process;
        final Path out;
        final Path err;
        /** When the coordinator first saw an operation of this worker; 0 until then. */
        long churningSince;

        Worker(int slot, int id, Process process, Path out, Path err) {
            this.slot = slot;
            this.id = id;
            this.process = process;
            this.out = out;
            this.err = err;
        }
    }

    /** A kill: whom, when (System.nanoTime() just before SIGKILL), and the first recovery seen. */
    private static final class Kill {
        final int id;
        final long pid;
        final long atNanos;
        long deadNanos;
        long recoveredNanos = Long.MAX_VALUE;

        Kill(int id, long pid, long atNanos) {
            this.id = id;
            this.pid = pid;
            this.atNanos = atNanos;
        }
    }

    private final Config config;
    private final Random random;
    private final List<Worker> slots = new ArrayList<>();
    private final List<Worker> everyWorker = new ArrayList<>();
    private final List<Kill> kills = new ArrayList<>();
    private final List<TakeoverLog.Completed> ownTakeovers = new ArrayList<>();
    private final List<String> details = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();
    private final String classPath;
    private TakeoverLog takeoverLog;
    private ShmHeap heap;
    private long control;
    private Path logDir;
    private long startNanos;
    private int nextId = 1;
    private long ops;
    private long patternViolations;
    private long workerFailures;
    private long reclaimedBytes;
    private long deadHeldBytes;
    private long explainedLow;
    private long explainedHigh;
    private long killsInFlight;
    /** Usable sizes of the blocks killed workers were allocating or freeing, and how many. */
    private final Map<Long, Integer> inFlight = new TreeMap<>();
    private long killsFreeing;

    private ChaosRun(Config config) {
        this.config = config;
        this.random = new Random(config.seed());
        this.classPath = childClassPath();
    }

    /**
     * The classpath for worker JVMs: {@code chaos.classpath} if set; else, under surefire (whose
     * {@code java.class.path} may be only its booter jar), {@code surefire.test.class.path};
     * else this JVM's own.
     */
    static String childClassPath() {
        for (String key : List.of("chaos.classpath", "surefire.test.class.path", "java.class.path")) {
            String cp = System.getProperty(key);
            if (cp != null && !cp.isBlank()) {
                return cp;
            }
        }
        throw new IllegalStateException("no classpath for the worker JVMs");
    }

    private Result execute() throws IOException, InterruptedException {
        Path heapPath = heapFile(config.heap(), config.capacityBytes());
        logDir = Files.createTempDirectory("shm-heap-chaos-");
        takeoverLog = TakeoverLog.install(true);
        details.add("chaos: heap=" + heapPath + " capacity=" + config.capacityBytes() + " held_limit=" + config.heldLimit() + " reclaim="
                + config.reclaim() + " logs=" + logDir);
        boolean passed = false;
        heap = ShmHeap.create(heapPath, config.capacityBytes());
        try {
            Result result = churn();
            passed = result.passed();
            return result;
        } finally {
            heap.close();
            if (!config.keep()) {
                Files.deleteIfExists(heapPath);
            }
            for (Worker w : everyWorker) {
                if (w.process.isAlive()) {
                    w.process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
            if (passed && !config.keep()) {
                deleteRecursively(logDir);
            }
        }
    }

    private Result churn() throws IOException, InterruptedException {
        control = ControlBlock.create(heap, config.workers(), LEDGER_ENTRIES);
        startNanos = System.nanoTime();
        for (int s = 0; s < config.workers(); s++) {
            slots.add(start(s));
        }
        long deadline = startNanos + TimeUnit.SECONDS.toNanos(config.seconds());
        long nextKill = startNanos + killPause();
        long lastProgress = 0;
        double maxStallNanos = 0;
        long maxStallAtNanos = 0;
        boolean dumpedThisStall = false;
        boolean watchdog = false;
        while (true) {
            long now = System.nanoTime();
            if (now - deadline >= 0) {
                break;
            }
            for (int s = 0; s < slots.size(); s++) {
                Worker w = slots.get(s);
                if (!w.process.isAlive()) {
                    exitedOnItsOwn(w);
                    reap(w, null);
                    slots.set(s, start(s));
                }
            }
            if (workerFailures + patternViolations > 4L * config.workers()) {
                failures.add("run stopped early: " + (workerFailures + patternViolations) + " workers failed");
                break;
            }
            for (int s = 0; s < slots.size(); s++) {
                lastProgress = Math.max(lastProgress, heap.getLongVolatile(slotOffset(s) + LAST_OP_NANOS_OFFSET));
            }
            now = System.nanoTime();
            long quiet = lastProgress == 0 ? now - startNanos : now - lastProgress;
            if (lastProgress != 0 && quiet > maxStallNanos) {
                maxStallNanos = quiet;
                maxStallAtNanos = now;
            }
            if (quiet > (lastProgress == 0 ? STARTUP_GRACE_NANOS : WATCHDOG_NANOS)) {
                watchdog = true;
                failures.add("watchdog: no worker completed an operation for " + TimeUnit.NANOSECONDS.toMillis(quiet) + " ms");
                break;
            }
            if (config.dumpStallsMillis() > 0 && lastProgress != 0) {
                if (quiet > TimeUnit.MILLISECONDS.toNanos(config.dumpStallsMillis()) && !dumpedThisStall) {
                    dumpedThisStall = true;
                    details.add(String.format(Locale.ROOT, "chaos: stall of %.0f ms at t=%.3fs: SIGQUIT to every worker (thread dumps in"
                            + " their .out files)", quiet / 1e6, (now - startNanos) / 1e9));
                    threadDumps(0);
                } else if (quiet < TimeUnit.MILLISECONDS.toNanos(config.dumpStallsMillis())) {
                    dumpedThisStall = false;
                }
            }
            for (int s = 0; s < slots.size(); s++) {
                Worker w = slots.get(s);
                if (w.churningSince == 0 && heap.getLongVolatile(slotOffset(s) + OPS_OFFSET) > 0) {
                    w.churningSince = now;
                }
            }
            if (now - nextKill >= 0) {
                // A victim has churned for at least min-age; and one other worker must be churning,
                // so that survivors are there to meet its locks (else, on a slow machine, kills can
                // outpace JVM start-up and leave nothing but starting JVMs).
                List<Integer> eligible = new ArrayList<>();
                int churning = 0;
                for (int s = 0; s < slots.size(); s++) {
                    Worker w = slots.get(s);
                    if (w.churningSince != 0 && w.process.isAlive()) {
                        churning++;
                        if (now - w.churningSince >= TimeUnit.MILLISECONDS.toNanos(config.minAgeMillis())) {
                            eligible.add(s);
                        }
                    }
                }
                if (eligible.isEmpty() || (config.workers() > 1 && churning < 2)) {
                    nextKill = now + TimeUnit.MILLISECONDS.toNanos(50);
                } else {
                    int s = eligible.get(random.nextInt(eligible.size()));
                    kill(slots.get(s));
                    slots.set(s, start(s));
                    nextKill = System.nanoTime() + killPause();
                }
            }
            Thread.sleep(LOOP_PAUSE_MILLIS);
        }
        stopAll(watchdog);
        details.add(String.format(Locale.ROOT, "chaos: longest time without a completed operation: %.1f ms, ending t=%.3fs",
                maxStallNanos / 1e6, (maxStallAtNanos - startNanos) / 1e9));

        // Takeovers the coordinator made while reclaiming count as recoveries; those of the
        // final recover() below do not (nothing needed those locks during the run).
        drainOwnTakeovers(System.nanoTime());
        long takeovers = matchTakeovers();
        long poisoned = countPoisoned();
        heap.unbind(NAME);
        heap.free(control);
        RecoveryReport recovery = heap.recover();
        VerifyReport verify = heap.verify();
        HeapStats stats = heap.stats();
        details.add("chaos: " + recovery);
        details.add("chaos: verify " + verify.toString().replace("\n", "\nchaos:   "));
        details.add("chaos: " + stats);
        Map<Long, Integer> leakedBuddy = new TreeMap<>();
        heap.forEachBlock(b -> {
            if (b.kind() == dev.shmheap.BlockInfo.Kind.USED) {
                leakedBuddy.merge(b.length(), 1, Integer::sum);
            }
        });
        boolean buddyLeakMatches = leakedBuddy.entrySet().stream()
                .allMatch(e -> e.getValue() <= inFlight.getOrDefault(e.getKey(), 0));
        details.add("chaos: used buddy blocks left, by size: " + leakedBuddy + "; blocks killed workers were allocating or freeing, by"
                + " usable size: " + inFlight + (buddyLeakMatches ? "" : " (MORE blocks of some size left than were in flight)")
                + "; kills in flight: " + killsInFlight + ", of them freeing: " + killsFreeing);
        if (verify.usedBytes() != stats.usedBytes()) {
            details.add("chaos: note: verify recounted " + verify.usedBytes() + " used bytes, stats say " + stats.usedBytes());
        }
        failures.forEach(f -> details.add("chaos: FAILURE " + f));

        double[] reapMillis = kills.stream().mapToDouble(k -> (k.deadNanos - k.atNanos) / 1e6).sorted().toArray();
        details.add(String.format(Locale.ROOT, "chaos: SIGKILL to reaped (waitFor returned): p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                percentile(reapMillis, 50), percentile(reapMillis, 99), percentile(reapMillis, 100)));
        double[] recoveryMillis = kills.stream().filter(k -> k.recoveredNanos != Long.MAX_VALUE)
                .mapToDouble(k -> (k.recoveredNanos - k.atNanos) / 1e6).sorted().toArray();
        return new Result(config, kills.size(), ops, recoveryMillis.length, percentile(recoveryMillis, 50), percentile(recoveryMillis, 99),
                recoveryMillis.length == 0 ? Double.NaN : recoveryMillis[recoveryMillis.length - 1], takeovers, poisoned,
                maxStallNanos / 1e6, watchdog, verify.ok(), patternViolations, workerFailures, recovery.locksTakenOver(),
                recovery.deadProcessesRemoved(), reclaimedBytes, deadHeldBytes, killsInFlight, stats.usedBytes(), explainedLow,
                explainedHigh, buddyLeakMatches, List.copyOf(details), logDir);
    }

    private long killPause() {
        long ms = config.killMinMillis() + (long) (random.nextDouble() * (config.killMaxMillis() - config.killMinMillis()));
        return TimeUnit.MILLISECONDS.toNanos(ms);
    }

    private long slotOffset(int slot) {
        return ControlBlock.slot(control, LEDGER_ENTRIES, slot);
    }

    private Worker start(int slot) throws IOException {
        int id = nextId++;
        if (id > 0xFFFF) {
            throw new IllegalStateException("more than 65535 workers: pattern owner ids would repeat");
        }
        heap.putLongRelease(slotOffset(slot) + WORKER_ID_OFFSET, id);
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JvmFlags.required());
        // Small, quick-starting JVMs: the machine may have two cores.
        command.addAll(List.of("-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", classPath, ChaosWorker.class.getName(),
                heap.path().toString(), Integer.toString(slot), Integer.toString(id),
                Long.toString(config.seed() * 0x9E37_79B9_7F4A_7C15L + id), Long.toString(config.heldLimit())));
        if (config.warmNative()) {
            command.add(ChaosWorker.WARM_NATIVE);
        }
        Path out = logDir.resolve("worker-" + id + ".out");
        Path err = logDir.resolve("worker-" + id + ".err");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        Worker worker = new Worker(slot, id, process, out, err);
        everyWorker.add(worker);
        return worker;
    }

    private void kill(Worker w) throws InterruptedException {
        Kill kill = new Kill(w.id, w.process.pid(), System.nanoTime());
        w.process.destroyForcibly(); // SIGKILL on Linux
        if (!w.process.waitFor(10, TimeUnit.SECONDS)) {
            workerFailure("worker " + w.id + " (pid " + w.process.pid() + ") still runs 10 s after SIGKILL");
        }
        kill.deadNanos = System.nanoTime();
        kills.add(kill);
        reap(w, kill);
    }

    private void exitedOnItsOwn(Worker w) {
        int code = w.process.exitValue();
        String tail = tail(w.err, 20);
        if (code == ChaosWorker.EXIT_PATTERN) {
            patternViolations++;
            failures.add("worker " + w.id + " (pid " + w.process.pid() + ") found a broken pattern:\n" + tail);
        } else {
            workerFailure("worker " + w.id + " (pid " + w.process.pid() + ") exited with " + code + ":\n" + tail);
        }
    }

    /**
     * Accounts for a worker that is gone: reads its slot, frees the blocks of its ledger (unless
     * reclaiming is off), clears the slot.
     */
    private void reap(Worker w, Kill kill) {
        long slot = slotOffset(w.slot);
        long workerOps = heap.getLongVolatile(slot + OPS_OFFSET);
        long held = heap.getLongVolatile(slot + HELD_BYTES_OFFSET);
        long pending = heap.getLongVolatile(slot + PENDING_BYTES_OFFSET);
        long reclaimed = 0;
        int blocks = 0;
        for (int e = 0; e < LEDGER_ENTRIES; e++) {
            long entry = ControlBlock.entry(slot, e);
            long offset = heap.getLongVolatile(entry + ENTRY_BLOCK_OFFSET);
            long meta = heap.getLongVolatile(entry + ENTRY_META_OFFSET);
            heap.putLong(entry + ENTRY_BLOCK_OFFSET, 0);
            heap.putLong(entry + ENTRY_META_OFFSET, 0);
            if (offset == 0 || !config.reclaim()) {
                continue;
            }
            blocks++;
            reclaimed += reclaim(w, offset, meta);
        }
        ops += workerOps;
        boolean dead = kill != null || w.process.exitValue() != 0;
        if (dead) {
            deadHeldBytes += held;
            reclaimedBytes += reclaimed;
            // What this worker leaked lies in this range, and is not negative.
            explainedLow += Math.max(0, held - reclaimed + Math.min(0, pending));
            explainedHigh += Math.max(0, held - reclaimed + Math.max(0, pending));
            if (pending != 0) {
                killsInFlight++;
                inFlight.merge(Math.abs(pending), 1, Integer::sum);
                if (pending < 0) {
                    killsFreeing++;
                }
            }
        } else if (held != 0 || blocks != 0) {
            workerFailure("worker " + w.id + " exited cleanly but its slot still says held=" + held + " with " + blocks + " ledger blocks");
        }
        if (kill != null) {
            details.add(String.format(Locale.ROOT, "chaos: kill t=%.3fs worker=%d pid=%d reaped after %.1f ms: ops=%d held=%d pending=%d"
                    + " reclaimed=%d in %d blocks", (kill.atNanos - startNanos) / 1e9, w.id, w.process.pid(),
                    (kill.deadNanos - kill.atNanos) / 1e6, workerOps, held, pending, reclaimed, blocks));
        }
        for (int off : new int[] {OPS_OFFSET, HELD_BYTES_OFFSET, PENDING_BYTES_OFFSET, LAST_OP_NANOS_OFFSET, WORKER_ID_OFFSET}) {
            heap.putLongRelease(slot + off, 0);
        }
    }

    /** Frees one block of a gone worker's ledger after checking its pattern; returns its usable size. */
    private long reclaim(Worker w, long offset, long meta) {
        long size = ControlBlock.sizeOf(meta);
        long base = BlockPattern.base(w.id, ControlBlock.seqOf(meta));
        long usable;
        try {
            usable = heap.usableSize(offset);
        } catch (RuntimeException e) {
            workerFailure("reclaim: ledger of worker " + w.id + " lists offset " + offset + ", which is not a live block: " + e.getMessage());
            return 0;
        }
        String problem = ControlBlock.written(meta) ? BlockPattern.check(heap, offset, size, usable, base) : null;
        if (problem != null) {
            patternViolations++;
            failures.add("a block of killed worker " + w.id + " was overwritten after its death: " + problem);
            return 0; // someone else may hold it now: leave it
        }
        try {
            heap.free(offset);
        } catch (RuntimeException e) {
            workerFailure("reclaim: free(" + offset + ") of a block of worker " + w.id + " failed: " + e);
            return 0;
        }
        drainOwnTakeovers(System.nanoTime());
        return usable;
    }

    private void drainOwnTakeovers(long doneNanos) {
        for (TakeoverLog.Event e : takeoverLog.drain()) {
            ownTakeovers.add(new TakeoverLog.Completed(e.victimPid(), e.atNanos(), doneNanos, e.lock()));
        }
    }

    private void workerFailure(String message) {
        workerFailures++;
        failures.add(message);
    }

    /** Sets the stop word and waits for every worker; a worker that does not stop in time is a failure. */
    private void stopAll(boolean watchdog) throws InterruptedException {
        if (watchdog) {
            threadDumps(1000);
            for (Worker w : slots) {
                w.process.destroyForcibly();
                w.process.waitFor(10, TimeUnit.SECONDS);
                reap(w, null);
            }
            return;
        }
        heap.putLongRelease(control + STOP_OFFSET, 1);
        long deadline = System.nanoTime() + STOP_TIMEOUT_NANOS;
        List<Worker> hung = new ArrayList<>();
        for (Worker w : slots) {
            if (!w.process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                hung.add(w);
            }
        }
        if (!hung.isEmpty()) {
            threadDumps(1000);
        }
        for (Worker w : slots) {
            if (hung.contains(w)) {
                workerFailure("worker " + w.id + " (pid " + w.process.pid() + ") did not stop within " + TimeUnit.NANOSECONDS.toSeconds(
                        STOP_TIMEOUT_NANOS) + " s; thread dump in " + w.out);
                w.process.destroyForcibly();
                w.process.waitFor(10, TimeUnit.SECONDS);
                reap(w, null);
            } else {
                if (w.process.exitValue() != 0) {
                    exitedOnItsOwn(w);
                }
                reap(w, null);
            }
        }
    }

    /** SIGQUIT to every live worker: the JVM prints its threads on stdout, into the worker's log. */
    private void threadDumps(long settleMillis) throws InterruptedException {
        for (Worker w : slots) {
            if (w.process.isAlive()) {
                try {
                    new ProcessBuilder("kill", "-3", Long.toString(w.process.pid())).start().waitFor(5, TimeUnit.SECONDS);
                } catch (IOException e) {
                    details.add("chaos: cannot send SIGQUIT to " + w.process.pid() + ": " + e);
                }
            }
        }
        Thread.sleep(settleMillis);
    }

    /**
     * Reads every worker's takeover lines and credits each to the latest kill of the victim pid
     * before it; a kill's recovery is the first such operation to complete. Returns the number
     * of takeovers of locks whose owner was a killed worker.
     */
    private long matchTakeovers() {
        List<TakeoverLog.Completed> all = new ArrayList<>(ownTakeovers);
        for (Worker w : everyWorker) {
            for (String line : lines(w.out)) {
                TakeoverLog.Completed c = TakeoverLog.Completed.parse(line);
                if (c != null) {
                    all.add(c);
                }
            }
        }
        long matched = 0;
        for (TakeoverLog.Completed c : all) {
            if (c.victimPid() == 0) {
                continue;
            }
            Kill best = null;
            for (Kill k : kills) {
                if (k.pid == c.victimPid() && k.atNanos <= c.atNanos() && (best == null || k.atNanos > best.atNanos)) {
                    best = k;
                }
            }
            if (best == null) {
                details.add("chaos: takeover of " + c.lock() + " from pid " + c.victimPid() + " matches no kill");
                continue;
            }
            matched++;
            best.recoveredNanos = Math.min(best.recoveredNanos, c.doneNanos());
            details.add(String.format(Locale.ROOT, "chaos: takeover of %s from killed worker %d (reaped after %.1f ms): taken %.1f ms,"
                    + " op done %.1f ms after the kill", c.lock(), best.id, (best.deadNanos - best.atNanos) / 1e6,
                    (c.atNanos() - best.atNanos) / 1e6, (c.doneNanos() - best.atNanos) / 1e6));
        }
        return matched;
    }

    private long countPoisoned() {
        long n = ownTakeovers.stream().filter(c -> c.victimPid() == 0).count();
        for (Worker w : everyWorker) {
            n += lines(w.out).stream().map(TakeoverLog.Completed::parse).filter(c -> c != null && c.victimPid() == 0).count();
        }
        return n;
    }

    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
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

    private static List<String> lines(Path file) {
        try {
            return Files.exists(file) ? Arrays.asList(Files.readString(file, StandardCharsets.UTF_8).split("\n")) : List.of();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static String tail(Path file, int n) {
        List<String> lines = lines(file);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
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
