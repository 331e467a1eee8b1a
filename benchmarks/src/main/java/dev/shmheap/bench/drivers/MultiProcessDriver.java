package dev.shmheap.bench.drivers;

import dev.shmheap.CreateOption;
import dev.shmheap.HeapStats;
import dev.shmheap.ShmHeap;
import dev.shmheap.VerifyReport;
import dev.shmheap.bench.report.ResultRow;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * 1, 2 and 4 child JVMs ({@link MultiProcessWorker}) on one heap run allocate+free mixes;
 * prints aggregate operations/s, per-process ns/op and the ratio to one JVM as
 * {@link ResultRow}s (area "multi-process") on stdout, progress on stderr.
 *
 * <p>Method. Per mix and launch, the driver creates a fresh heap and starts as many children
 * as the largest process count; they open the heap and meet at a start barrier (a counter in
 * a control block in the heap), then all run a warm-up (a minimum time and a minimum count of
 * operations per process, so the JIT is done even on a busy machine). Then come cycles: in
 * each cycle the driver lets 1, 2 and 4 children run in turn (in an order that rotates from
 * cycle to cycle; the others sleep), each for one window, and samples the children's running
 * operation counts and CPU times at the window edges. Because the 1-, 2- and 4-process
 * windows of a cycle are adjacent in time, the ratio to one JVM is taken per cycle (median
 * over cycles): on a machine shared with other work that is far less noisy than comparing
 * separate runs. Each child also reports its own operation count and active time. After each
 * launch the heap must verify clean with zero used bytes, else the driver fails (exit 1).
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar &lt;JvmFlags&gt; dev.shmheap.bench.drivers.MultiProcessDriver [--quick]
 * </pre>
 */
public final class MultiProcessDriver {
    public enum Mix {
        SAME_CLASS_64("64 B allocate+free pair, every JVM in the same class"),
        OWN_CLASS("allocate+free pair, each JVM its own class (64 B, 128 B, 256 B, 512 B)"),
        MIXED_64B_16K("64 B..16 KiB mixed, 16 live blocks per JVM freed in random order");

        final String description;

        Mix(String description) {
            this.description = description;
        }
    }

    /**
     * @param processCounts process counts compared, e.g. 1, 2, 4 (the ratio is to the first)
     * @param launches      fresh heaps and fresh child JVMs per mix
     * @param warmupMillis  run time of all children before the first cycle, at least
     * @param warmupOps     operations every process must have done before the first cycle
     * @param windowMillis  length of one measurement window (one process count in one cycle)
     * @param cycles        cycles per launch; each cycle has one window per process count
     */
    public record Config(List<Integer> processCounts, List<Mix> mixes, int launches, long warmupMillis, long warmupOps, long windowMillis,
                         int cycles, long capacity) {
        public static Config full() {
            return new Config(List.of(1, 2, 4), selectedMixes(), selectedLaunches(3), 1000, 2_000_000, 300, 10, 64L << 20);
        }

        public static Config quick() {
            return new Config(List.of(1, 2, 4), selectedMixes(), selectedLaunches(1), 500, 1_000_000, 200, 8, 64L << 20);
        }

        /** Every mix, or those named in {@code -Dmp.mixes=MIX,...} (for a measurement of one mix). */
        private static List<Mix> selectedMixes() {
            String names = System.getProperty("mp.mixes");
            return names == null ? List.of(Mix.values()) : Arrays.stream(names.split(",")).map(String::trim).map(Mix::valueOf).toList();
        }

        /** {@code -Dmp.launches=N}, else {@code otherwise}. */
        private static int selectedLaunches(int otherwise) {
            return Integer.getInteger("mp.launches", otherwise);
        }

        int maxProcesses() {
            return processCounts.stream().mapToInt(Integer::intValue).max().orElse(1);
        }
    }

    /** What a child reported itself: operations and time while it was active in the measured cycles. */
    public record ProcessResult(int index, long ops, long elapsedNanos) {
        public double nsPerOp() {
            return ops == 0 ? Double.NaN : (double) elapsedNanos / ops;
        }
    }

    /**
     * One window: {@code processes} children active, {@code ops[i]} operations of child i,
     * {@code nanos} long; the children used {@code cpuNanos} of CPU time in all (from /proc,
     * -1 when unknown).
     */
    public record Window(int cycle, int processes, long[] ops, long nanos, long cpuNanos) {
        public double aggregateOpsPerSecond() {
            return Arrays.stream(ops).sum() * 1e9 / nanos;
        }

        public double coresObtained() {
            return cpuNanos < 0 ? Double.NaN : (double) cpuNanos / nanos;
        }
    }

    public record RunResult(Mix mix, int launch, List<ProcessResult> perProcess, List<Window> windows, VerifyReport verify,
                            long usedBytesAfter) {
        public List<Window> windows(int processes) {
            return windows.stream().filter(w -> w.processes() == processes).toList();
        }
    }

    private MultiProcessDriver() {
    }

    public static void main(String[] args) {
        DriverSupport.runMain(args, Config::quick, Config::full, MultiProcessDriver::run, MultiProcessDriver::printRows);
    }

    public static List<RunResult> run(Config config) throws Exception {
        List<RunResult> results = new ArrayList<>();
        for (int launch = 0; launch < config.launches(); launch++) {
            for (Mix mix : config.mixes()) {
                RunResult result = runOnce(config, mix, launch);
                results.add(result);
                for (int n : config.processCounts()) {
                    List<Window> ws = result.windows(n);
                    DriverSupport.log(String.format(Locale.ROOT, "multi-process: launch %d %s %d JVM(s): windows %s Mops/s aggregate; cores obtained %s",
                            launch, mix, n, ws.stream().map(w -> String.format(Locale.ROOT, "%.2f", w.aggregateOpsPerSecond() / 1e6)).toList(),
                            ws.stream().map(w -> String.format(Locale.ROOT, "%.2f", w.coresObtained())).toList()));
                }
                DriverSupport.log("multi-process: launch " + launch + " " + mix + ": children report " + result.perProcess().stream()
                        .map(p -> String.format(Locale.ROOT, "%,d ops/%.0f ms", p.ops(), p.elapsedNanos() / 1e6)).toList());
            }
        }
        return results;
    }

    static RunResult runOnce(Config config, Mix mix, int launch) throws Exception {
        int n = config.maxProcesses();
        if (n < 1 || n > MultiProcessWorker.MAX_WORKERS || config.processCounts().stream().anyMatch(c -> c < 1)) {
            throw new IllegalArgumentException("process counts " + config.processCounts() + " outside 1.." + MultiProcessWorker.MAX_WORKERS);
        }
        Path path = DriverSupport.newHeapPath("mp");
        Path logs = DriverSupport.newTempDirectory("mp");
        List<Process> children = new ArrayList<>();
        try (ShmHeap heap = ShmHeap.create(path, config.capacity(), CreateOption.SPARSE)) {
            long control = heap.allocate(MultiProcessWorker.CONTROL_BYTES, 4096);
            for (long o = 0; o < MultiProcessWorker.CONTROL_BYTES; o += 8) {
                heap.putLong(control + o, 0);
            }
            long usedBefore = heap.stats().usedBytes();
            for (int i = 0; i < n; i++) {
                children.add(startWorker(path, control, i, mix, 0x5DEECE66DL * (launch + 1) + 1_000_003L * i + 17, logs));
            }
            // barrier: every child has opened the heap and prepared its mix
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (heap.getLongVolatile(control + MultiProcessWorker.READY) < n) {
                checkAlive(children, logs, "before the start barrier");
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("workers did not reach the start barrier in 120 s:\n" + describe(children, logs));
                }
                Thread.sleep(2);
            }
            heap.putLongRelease(control + MultiProcessWorker.ACTIVE, n);
            heap.putLongRelease(control + MultiProcessWorker.STATE, MultiProcessWorker.WARMUP);
            Thread.sleep(config.warmupMillis());
            awaitWarmupOps(heap, control, n, config.warmupOps(), children, logs);

            List<Window> windows = new ArrayList<>();
            List<Integer> counts = config.processCounts();
            heap.putLongRelease(control + MultiProcessWorker.STATE, MultiProcessWorker.MEASURE);
            for (int cycle = 0; cycle < config.cycles(); cycle++) {
                for (int k = 0; k < counts.size(); k++) {
                    int active = counts.get((k + cycle) % counts.size());
                    heap.putLongRelease(control + MultiProcessWorker.ACTIVE, active);
                    awaitActive(heap, control, n, active, children, logs);
                    Thread.sleep(2);
                    long[] before = new long[n];
                    long cpuBefore = cpuNanos(children);
                    long start = System.nanoTime();
                    readCounts(heap, control, before);
                    Thread.sleep(config.windowMillis());
                    long[] after = new long[n];
                    long end = System.nanoTime();
                    readCounts(heap, control, after);
                    long cpuAfter = cpuNanos(children);
                    long[] ops = new long[active];
                    for (int i = 0; i < active; i++) {
                        ops[i] = after[i] - before[i];
                    }
                    for (int i = active; i < n; i++) {
                        if (after[i] != before[i]) {
                            throw new IllegalStateException("worker " + i + " ran while only " + active + " should: " + before[i] + " -> " + after[i]);
                        }
                    }
                    windows.add(new Window(cycle, active, ops, end - start, cpuBefore < 0 || cpuAfter < 0 ? -1 : cpuAfter - cpuBefore));
                }
                checkAlive(children, logs, "during the measurement");
            }
            heap.putLongRelease(control + MultiProcessWorker.STATE, MultiProcessWorker.STOP);
            for (int i = 0; i < n; i++) {
                Process p = children.get(i);
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("worker " + i + " did not exit 60 s after stop:\n" + describe(children, logs));
                }
                if (p.exitValue() != 0) {
                    throw new IllegalStateException("worker " + i + " failed with exit " + p.exitValue() + ":\n" + describe(children, logs));
                }
            }
            List<ProcessResult> perProcess = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                long slot = control + MultiProcessWorker.SLOTS + MultiProcessWorker.SLOT_LENGTH * i;
                if (heap.getLongVolatile(slot + MultiProcessWorker.SLOT_DONE) != 1) {
                    throw new IllegalStateException("worker " + i + " exited 0 without reporting:\n" + describe(children, logs));
                }
                perProcess.add(new ProcessResult(i, heap.getLong(slot + MultiProcessWorker.SLOT_OPS),
                        heap.getLong(slot + MultiProcessWorker.SLOT_ELAPSED)));
            }
            long usedAfterWorkers = heap.stats().usedBytes();
            if (usedAfterWorkers != usedBefore) {
                throw new IllegalStateException("after the workers freed everything, usedBytes is " + usedAfterWorkers + ", expected "
                        + usedBefore + " (the control block only): " + heap.stats());
            }
            heap.free(control);
            HeapStats stats = heap.stats();
            VerifyReport verify = heap.verify();
            if (!verify.ok() || stats.usedBytes() != 0) {
                throw new IllegalStateException("heap not clean after " + mix + " with " + n + " JVMs: usedBytes=" + stats.usedBytes()
                        + ", " + verify);
            }
            return new RunResult(mix, launch, List.copyOf(perProcess), List.copyOf(windows), verify, stats.usedBytes());
        } finally {
            for (Process p : children) {
                if (p.isAlive()) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            }
            DriverSupport.delete(path);
            DriverSupport.delete(logs);
        }
    }

    private static void checkAlive(List<Process> children, Path logs, String when) {
        for (int i = 0; i < children.size(); i++) {
            if (!children.get(i).isAlive()) {
                throw new IllegalStateException("worker " + i + " exited " + when + ":\n" + describe(children, logs));
            }
        }
    }

    /** Waits (up to 60 s) until the children below {@code active} run and the others say they sleep. */
    private static void awaitActive(ShmHeap heap, long control, int n, int active, List<Process> children, Path logs)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            boolean settled = true;
            for (int i = 0; i < n; i++) {
                long idle = heap.getLongVolatile(control + MultiProcessWorker.SLOTS + MultiProcessWorker.SLOT_LENGTH * i
                        + MultiProcessWorker.SLOT_IDLE);
                settled &= idle == (i < active ? 0 : 1);
            }
            if (settled) {
                return;
            }
            checkAlive(children, logs, "while switching to " + active + " active");
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("workers did not switch to " + active + " active in 60 s:\n" + describe(children, logs));
            }
            Thread.sleep(1);
        }
    }

    /** Waits (up to 120 s) until every process has done {@code ops} operations. */
    private static void awaitWarmupOps(ShmHeap heap, long control, int n, long ops, List<Process> children, Path logs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        long[] counts = new long[n];
        while (true) {
            readCounts(heap, control, counts);
            if (Arrays.stream(counts).allMatch(c -> c >= ops)) {
                return;
            }
            checkAlive(children, logs, "during the warm-up");
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("workers did not finish " + ops + " warm-up operations in 120 s: " + Arrays.toString(counts)
                        + "\n" + describe(children, logs));
            }
            Thread.sleep(5);
        }
    }

    /**
     * User + system CPU time of all the children from /proc/PID/stat (clock ticks of 10 ms,
     * assuming the usual 100 Hz), or -1 if it cannot be read.
     */
    static long cpuNanos(List<Process> children) {
        long ticks = 0;
        for (Process p : children) {
            try {
                String stat = Files.readString(Path.of("/proc", Long.toString(p.pid()), "stat"));
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                // fields[0] is field 3 (state); utime and stime are fields 14 and 15
                ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
            } catch (IOException | RuntimeException e) {
                return -1;
            }
        }
        return ticks * 10_000_000L;
    }

    private static void readCounts(ShmHeap heap, long control, long[] counts) {
        for (int i = 0; i < counts.length; i++) {
            counts[i] = heap.getLongVolatile(control + MultiProcessWorker.SLOTS + MultiProcessWorker.SLOT_LENGTH * i + MultiProcessWorker.SLOT_COUNT);
        }
    }

    private static Process startWorker(Path heap, long control, int index, Mix mix, long seed, Path logs) throws IOException {
        List<String> command = DriverSupport.childCommand(MultiProcessWorker.class, heap.toString(), Long.toString(control),
                Integer.toString(index), mix.name(), Long.toString(seed));
        Process process = new ProcessBuilder(command)
                .redirectOutput(logs.resolve("worker-" + index + ".out").toFile())
                .redirectError(logs.resolve("worker-" + index + ".err").toFile())
                .start();
        process.getOutputStream().close();
        return process;
    }

    private static String describe(List<Process> children, Path logs) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < children.size(); i++) {
            Process p = children.get(i);
            sb.append("worker ").append(i).append(" pid ").append(p.pid()).append(p.isAlive() ? " running" : " exit " + p.exitValue())
                    .append('\n');
            for (String stream : List.of("out", "err")) {
                Path f = logs.resolve("worker-" + i + "." + stream);
                try {
                    if (Files.exists(f)) {
                        sb.append("--- ").append(stream).append(" ---\n").append(Files.readString(f, StandardCharsets.UTF_8));
                    }
                } catch (IOException e) {
                    sb.append("(cannot read ").append(f).append(")\n");
                }
            }
        }
        return sb.toString();
    }

    /**
     * The ratio of {@code n} processes to {@code base} processes: per (launch, cycle) the
     * aggregate of the n-window over the aggregate of the base-window.
     */
    static double[] pairedRatios(List<RunResult> results, int n, int base) {
        List<Double> ratios = new ArrayList<>();
        for (RunResult r : results) {
            for (Window w : r.windows(n)) {
                r.windows(base).stream().filter(b -> b.cycle() == w.cycle()).findFirst()
                        .ifPresent(b -> ratios.add(w.aggregateOpsPerSecond() / b.aggregateOpsPerSecond()));
            }
        }
        return ratios.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Medians over every window of every launch; the ratio is per cycle against the first process count (1 JVM). */
    static List<ResultRow> rows(Config config, List<RunResult> results) {
        int cores = Runtime.getRuntime().availableProcessors();
        int base = config.processCounts().get(0);
        List<ResultRow> rows = new ArrayList<>();
        for (Mix mix : config.mixes()) {
            List<RunResult> runs = results.stream().filter(r -> r.mix() == mix).toList();
            double baseline = DriverSupport.median(runs.stream().flatMap(r -> r.windows(base).stream())
                    .mapToDouble(Window::aggregateOpsPerSecond).toArray());
            for (int n : config.processCounts()) {
                List<Window> ws = runs.stream().flatMap(r -> r.windows(n).stream()).toList();
                double[] aggregate = ws.stream().mapToDouble(Window::aggregateOpsPerSecond).toArray();
                double[] nsPerOp = ws.stream().flatMapToDouble(w -> Arrays.stream(w.ops())
                        .mapToDouble(o -> o == 0 ? Double.POSITIVE_INFINITY : (double) w.nanos() / o)).toArray();
                double[] obtained = ws.stream().mapToDouble(Window::coresObtained).filter(c -> !Double.isNaN(c)).toArray();
                double[] perCpu = ws.stream().filter(w -> w.coresObtained() > 0).mapToDouble(w -> w.aggregateOpsPerSecond() / w.coresObtained())
                        .toArray();
                double agg = DriverSupport.median(aggregate);
                double[] ratios = n == base ? new double[] {1.0} : pairedRatios(runs, n, base);
                double ratio = DriverSupport.median(ratios);
                double[] q = ScaleDriver.quartiles(ratios);
                String ratioText = String.format(Locale.ROOT, "%.2fx", ratio)
                        + (n == base ? "" : String.format(Locale.ROOT, " (per-cycle IQR %.2f-%.2f)", q[0], q[1]));
                String ours = ResultRow.fmt(agg / 1e6, "Mops/s") + " aggregate (" + aggregate.length + " windows: "
                        + ResultRow.fmt(DriverSupport.min(aggregate) / 1e6, "") + "-" + ResultRow.fmt(DriverSupport.max(aggregate) / 1e6, "")
                        + "); " + ResultRow.fmt(DriverSupport.median(nsPerOp), "ns/op") + " per process"
                        + (obtained.length == 0 ? "" : "; the JVMs got " + ResultRow.fmt(DriverSupport.median(obtained), "") + " of "
                        + Math.min(n, cores) + " cores (median), " + ResultRow.fmt(DriverSupport.median(perCpu) / 1e6, "Mops per CPU-second"));
                boolean targetRow = mix == Mix.SAME_CLASS_64 && n == 2 && base == 1;
                String target = targetRow ? ">= 1.00x (aggregate not below one process's)" : "";
                String met = targetRow ? ResultRow.met(ratio >= 1.0) : "";
                String caseName = mix.description + ", " + n + (n == 1 ? " JVM" : " JVMs") + (n > cores ? " on " + cores + " cores" : "");
                rows.add(new ResultRow("multi-process", caseName, ours, "same mix, " + base + (base == 1 ? " JVM" : " JVMs")
                        + (n == base ? "" : ", same cycles (ratio = median of per-cycle ratios)"),
                        ResultRow.fmt(baseline / 1e6, "Mops/s"), ratioText, target, met));
            }
        }
        return rows;
    }

    static void printRows(Config config, List<RunResult> results) {
        DriverSupport.log(String.format(Locale.ROOT,
                "multi-process: %d launch(es) x %d cycles of %s JVMs, windows of %d ms, after a warm-up of >= %d ms and >= %,d ops per process; "
                        + "heap %s sparse; %d cores; one op = one allocate + one free", config.launches(), config.cycles(), config.processCounts(),
                config.windowMillis(), config.warmupMillis(), config.warmupOps(), DriverSupport.bytes(config.capacity()),
                Runtime.getRuntime().availableProcessors()));
        for (ResultRow row : rows(config, results)) {
            row.print();
        }
    }
}
