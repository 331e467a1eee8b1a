package dev.shmheap.stress.chaos;

import dev.shmheap.JvmFlags;
import dev.shmheap.ShmHeap;
import dev.shmheap.testkit.BlockPattern;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.shmheap.stress.chaos.ControlBlock.LAST_OP_NANOS_OFFSET;
import static dev.shmheap.stress.chaos.ControlBlock.OPS_OFFSET;
import static dev.shmheap.stress.chaos.ControlBlock.STOP_OFFSET;
import static dev.shmheap.stress.chaos.ControlBlock.WORKER_ID_OFFSET;

/**
 * The worker JVMs of a run, one per slot of the {@link ControlBlock}: starts them, kills one,
 * starts its replacement, and stops them all at the end. It owns the processes and their log
 * files; what a gone worker leaves in its slot is {@link BlockAccounting}'s business.
 *
 * <p>Invariants: a slot's worker id is written before its JVM starts, so a worker finds its own
 * id there (ChaosWorker checks it); ids are never reused in a run (they are pattern owners,
 * 1..65535); every JVM started is in {@link #everyWorker()} until {@link #close()}, which
 * leaves none running.
 */
final class WorkerJvms implements AutoCloseable {
    /** A SIGKILLed JVM that has not exited after this long is a failure: far above the teardown times seen under load (CHAOS.md). */
    static final long EXIT_AFTER_KILL_SECONDS = 10;
    /** After the stop word, a worker checks and frees everything it holds; far more than that takes. */
    static final long STOP_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(60);
    /** Time for the JVMs to write their thread dumps after SIGQUIT before they are killed. */
    static final long DUMP_SETTLE_MILLIS = 1000;
    /** How long {@code kill -3} itself may take. */
    private static final long SIGQUIT_TIMEOUT_SECONDS = 5;
    /** Mixes the run's seed with a worker id into the worker's own seed (the 64-bit golden ratio, as SplitMix64). */
    private static final long SEED_MIX = 0x9E37_79B9_7F4A_7C15L;
    /**
     * A directory: each worker JVM records a JDK Flight Recorder file there ({@code worker-ID.jfr}
     * when it stops cleanly; a SIGKILLed worker leaves its flushed chunks in
     * {@code worker-ID-repository/}), so that {@code jfr print --events dev.shmheap.LockTakeover}
     * shows its takeovers. Unset: no recording.
     */
    static final String WORKER_JFR_PROPERTY = "chaos.workerJfr";
    /** Small, quick-starting JVMs: the machine may have two cores. */
    private static final List<String> WORKER_JVM_FLAGS = List.of("-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    /** A worker JVM in a slot; {@code churningSince} is when the coordinator first saw it complete an operation (0 until then). */
    static final class Worker {
        private final int slot;
        private final int id;
        private final Process process;
        private final Path out;
        private final Path err;
        private final long startedNanos;
        private long churningSince;

        private Worker(int slot, int id, Process process, Path out, Path err, long startedNanos) {
            this.slot = slot;
            this.id = id;
            this.process = process;
            this.out = out;
            this.err = err;
            this.startedNanos = startedNanos;
        }

        /** System.nanoTime() when its JVM was started. */
        long startedNanos() {
            return startedNanos;
        }

        int slot() {
            return slot;
        }

        int id() {
            return id;
        }

        Process process() {
            return process;
        }

        long pid() {
            return process.pid();
        }

        /** The worker's stdout: its takeover lines and, after SIGQUIT, its thread dump. */
        Path out() {
            return out;
        }

        Path err() {
            return err;
        }

        long churningSince() {
            return churningSince;
        }
    }

    /** A SIGKILL: whom, when (System.nanoTime() just before the signal), when waitFor returned, and whether it did in time. */
    record Kill(int workerId, long pid, long atNanos, long reapedNanos, boolean exited) {
    }

    private final ShmHeap heap;
    private final long control;
    private final ChaosConfig config;
    private final Path logDir;
    private final String classPath = childClassPath();
    private final List<Worker> slots = new ArrayList<>();
    private final List<Worker> everyWorker = new ArrayList<>();
    private int nextId = 1;

    WorkerJvms(ShmHeap heap, long control, ChaosConfig config, Path logDir) {
        this.heap = heap;
        this.control = control;
        this.config = config;
        this.logDir = logDir;
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

    /** Starts one worker per slot. */
    void startAll() throws IOException {
        for (int s = 0; s < config.workers(); s++) {
            slots.add(start(s));
        }
    }

    /** The current worker of each slot, by slot. */
    List<Worker> current() {
        return slots;
    }

    /** Every worker started in this run, the gone ones too. */
    List<Worker> everyWorker() {
        return everyWorker;
    }

    /** Starts a new worker in {@code slot}, whose previous worker is gone and accounted for. */
    Worker replace(int slot) throws IOException {
        Worker worker = start(slot);
        slots.set(slot, worker);
        return worker;
    }

    private Worker start(int slot) throws IOException {
        int id = nextId++;
        if (id > BlockPattern.MAX_OWNER) {
            throw new IllegalStateException("more than 65535 workers: pattern owner ids would repeat");
        }
        heap.putLongRelease(slotOffset(slot) + WORKER_ID_OFFSET, id);
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JvmFlags.required());
        command.addAll(WORKER_JVM_FLAGS);
        command.addAll(flightRecorderFlags(id));
        command.addAll(List.of("-cp", classPath, ChaosWorker.class.getName(), heap.path().toString(), Integer.toString(slot),
                Integer.toString(id), Long.toString(config.seed() * SEED_MIX + id), Long.toString(config.heldLimit())));
        if (config.warmNative()) {
            command.add(ChaosWorker.WARM_NATIVE);
        }
        Path out = logDir.resolve("worker-" + id + ".out");
        Path err = logDir.resolve("worker-" + id + ".err");
        long startedNanos = System.nanoTime();
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        Worker worker = new Worker(slot, id, process, out, err, startedNanos);
        everyWorker.add(worker);
        return worker;
    }

    /** The JVM flags that make worker {@code id} record JFR into {@link #WORKER_JFR_PROPERTY}'s directory; none when it is unset. */
    static List<String> flightRecorderFlags(int id) {
        String dir = System.getProperty(WORKER_JFR_PROPERTY);
        if (dir == null || dir.isBlank()) {
            return List.of();
        }
        Path base = Path.of(dir).toAbsolutePath();
        return List.of("-XX:StartFlightRecording=settings=default,filename=" + base.resolve("worker-" + id + ".jfr"),
                "-XX:FlightRecorderOptions=repository=" + base.resolve("worker-" + id + "-repository"));
    }

    /** SIGKILLs {@code w} ({@code destroyForcibly} on Linux) and waits until it has exited and is reaped. */
    Kill kill(Worker w) throws InterruptedException {
        long at = System.nanoTime();
        w.process.destroyForcibly();
        boolean exited = w.process.waitFor(EXIT_AFTER_KILL_SECONDS, TimeUnit.SECONDS);
        return new Kill(w.id, w.pid(), at, System.nanoTime(), exited);
    }

    /** Notes, at {@code now}, which workers have begun to complete operations. */
    void noteChurning(long now) {
        for (Worker w : slots) {
            if (w.churningSince == 0 && heap.getLongVolatile(slotOffset(w.slot) + OPS_OFFSET) > 0) {
                w.churningSince = now;
            }
        }
    }

    /** The latest time any current worker published for the end of an operation; 0 if none has. */
    long latestCompletionNanos() {
        long latest = 0;
        for (Worker w : slots) {
            latest = Math.max(latest, heap.getLongVolatile(slotOffset(w.slot) + LAST_OP_NANOS_OFFSET));
        }
        return latest;
    }

    /**
     * Sets the stop word and waits for every current worker, together up to
     * {@link #STOP_TIMEOUT_NANOS}. Returns the workers that had not exited by then: they get a
     * thread dump (into their .out file) and are killed. All current workers have exited on return.
     */
    List<Worker> stopAll(List<String> details) throws InterruptedException {
        heap.putLongRelease(control + STOP_OFFSET, 1);
        long deadline = System.nanoTime() + STOP_TIMEOUT_NANOS;
        List<Worker> hung = new ArrayList<>();
        for (Worker w : slots) {
            if (!w.process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                hung.add(w);
            }
        }
        if (!hung.isEmpty()) {
            threadDumps(DUMP_SETTLE_MILLIS, details);
            for (Worker w : hung) {
                w.process.destroyForcibly().waitFor(EXIT_AFTER_KILL_SECONDS, TimeUnit.SECONDS);
            }
        }
        return hung;
    }

    /** The watchdog's end: thread dumps of every current worker, then SIGKILL to all. */
    void dumpAndKillAll(List<String> details) throws InterruptedException {
        threadDumps(DUMP_SETTLE_MILLIS, details);
        for (Worker w : slots) {
            w.process.destroyForcibly().waitFor(EXIT_AFTER_KILL_SECONDS, TimeUnit.SECONDS);
        }
    }

    /** SIGQUIT to every live worker: the JVM prints its threads on stdout, into the worker's .out file. */
    void threadDumps(long settleMillis, List<String> details) throws InterruptedException {
        for (Worker w : slots) {
            if (w.process.isAlive()) {
                try {
                    new ProcessBuilder("kill", "-3", Long.toString(w.pid())).start().waitFor(SIGQUIT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                } catch (IOException e) {
                    details.add("chaos: cannot send SIGQUIT to " + w.pid() + ": " + e);
                }
            }
        }
        Thread.sleep(settleMillis);
    }

    private long slotOffset(int slot) {
        return ControlBlock.slot(control, ControlBlock.LEDGER_ENTRIES, slot);
    }

    /** Kills whatever still runs, e.g. after an exception in the coordinator. */
    @Override
    public void close() throws InterruptedException {
        for (Worker w : everyWorker) {
            if (w.process.isAlive()) {
                w.process.destroyForcibly().waitFor(EXIT_AFTER_KILL_SECONDS, TimeUnit.SECONDS);
            }
        }
    }
}
