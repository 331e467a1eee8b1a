package dev.shmheap.bench.drivers;

import dev.shmheap.CreateOption;
import dev.shmheap.HeapStats;
import dev.shmheap.JvmFlags;
import dev.shmheap.ShmHeap;
import dev.shmheap.VerifyReport;
import dev.shmheap.bench.report.ResultRow;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * 1, 2 and 4 child JVMs ({@link MultiProcessWorker}) on one heap, started together through a
 * barrier in the heap, run allocate+free mixes for a fixed time after a warm-up; each reports
 * its operation count and elapsed time. The driver samples the children's running counts at
 * the edges of equal windows; each window is one sample of the medians. Prints aggregate operations/s, per-process ns/op and
 * the ratio to one JVM as {@link ResultRow}s (area "multi-process") on stdout; progress on
 * stderr. After every run the heap must verify clean with zero used bytes, else the driver
 * fails (exit 1).
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
     * @param launches      fresh heaps and fresh child JVMs per (mix, process count)
     * @param warmupMillis  run time before the first window, at least
     * @param warmupOps     operations every process must have done before the first window (so
     *                      that the JIT has compiled the loop even when the machine is busy)
     * @param windowMillis  length of one measurement window
     * @param windows       windows per launch; every window is one sample of the medians
     */
    public record Config(List<Integer> processCounts, List<Mix> mixes, int launches, long warmupMillis, long warmupOps, long windowMillis,
                         int windows, long capacity) {
        public static Config full() {
            return new Config(List.of(1, 2, 4), List.of(Mix.values()), 3, 1000, 2_000_000, 500, 6, 64L << 20);
        }

        public static Config quick() {
            return new Config(List.of(1, 2, 4), List.of(Mix.values()), 1, 500, 1_000_000, 300, 5, 64L << 20);
        }
    }

    /** What a child reported itself: operations and elapsed time of its whole measurement phase. */
    public record ProcessResult(int index, long ops, long elapsedNanos) {
        public double nsPerOp() {
            return ops == 0 ? Double.NaN : (double) elapsedNanos / ops;
        }
    }

    /**
     * One launch: the children's own reports, and the driver's windows ({@code windowOps[w][i]}
     * operations of process i in window w, which lasted {@code windowNanos[w]}; the children
     * used {@code windowCpuNanos[w]} of CPU time in all, from /proc, -1 where unknown).
     */
    public record RunResult(Mix mix, int processes, int launch, List<ProcessResult> perProcess, long[][] windowOps, long[] windowNanos,
                            long[] windowCpuNanos, VerifyReport verify, long usedBytesAfter) {
        /** Cores the children got in each window (CPU time / window), NaN where unknown. */
        public double[] coresObtained() {
            double[] cores = new double[windowNanos.length];
            for (int w = 0; w < cores.length; w++) {
                cores[w] = windowCpuNanos[w] < 0 ? Double.NaN : (double) windowCpuNanos[w] / windowNanos[w];
            }
            return cores;
        }

        /** Aggregate operations/s of each window. */
        public double[] aggregateOpsPerSecond() {
            double[] rates = new double[windowNanos.length];
            for (int w = 0; w < rates.length; w++) {
                long sum = 0;
                for (long ops : windowOps[w]) {
                    sum += ops;
                }
                rates[w] = sum * 1e9 / windowNanos[w];
            }
            return rates;
        }

        /** ns/op of each process in each window (infinite for a process that did nothing in a window). */
        public double[] processNsPerOp() {
            double[] ns = new double[windowNanos.length * processes];
            for (int w = 0; w < windowNanos.length; w++) {
                for (int i = 0; i < processes; i++) {
                    ns[w * processes + i] = windowOps[w][i] == 0 ? Double.POSITIVE_INFINITY : (double) windowNanos[w] / windowOps[w][i];
                }
            }
            return ns;
        }
    }

    private MultiProcessDriver() {
    }

    public static void main(String[] args) throws Exception {
        Config config = DriverSupport.hasFlag(args, "--quick") ? Config.quick() : Config.full();
        try {
            List<RunResult> results = run(config);
            printRows(config, results);
        } catch (Exception | AssertionError e) {
            e.printStackTrace();
            DriverSupport.deleteAllCreated();
            System.exit(1);
        }
    }

    /** Runs every (launch, mix, process count), interleaved so that drift of the machine spreads over all cases. */
    public static List<RunResult> run(Config config) throws Exception {
        List<RunResult> results = new ArrayList<>();
        for (int launch = 0; launch < config.launches(); launch++) {
            for (Mix mix : config.mixes()) {
                for (int n : config.processCounts()) {
                    RunResult result = runOnce(config, mix, n, launch);
                    results.add(result);
                    double[] rates = result.aggregateOpsPerSecond();
                    DriverSupport.log(String.format(Locale.ROOT,
                            "multi-process: launch %d %s %d JVM(s): windows %s Mops/s aggregate; cores obtained %s; children report %s",
                            launch, mix, n, java.util.Arrays.stream(rates).mapToObj(r -> String.format(Locale.ROOT, "%.2f", r / 1e6)).toList(),
                            java.util.Arrays.stream(result.coresObtained()).mapToObj(c -> String.format(Locale.ROOT, "%.2f", c)).toList(),
                            result.perProcess().stream()
                                    .map(p -> String.format(Locale.ROOT, "%,d ops/%.0f ms", p.ops(), p.elapsedNanos() / 1e6)).toList()));
                }
            }
        }
        return results;
    }

    static RunResult runOnce(Config config, Mix mix, int n, int launch) throws Exception {
        if (n < 1 || n > MultiProcessWorker.MAX_WORKERS) {
            throw new IllegalArgumentException("process count " + n + " outside 1.." + MultiProcessWorker.MAX_WORKERS);
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
                for (int i = 0; i < n; i++) {
                    if (!children.get(i).isAlive()) {
                        throw new IllegalStateException("worker " + i + " exited before the start barrier:\n" + describe(children, logs));
                    }
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("workers did not reach the start barrier in 120 s:\n" + describe(children, logs));
                }
                Thread.sleep(2);
            }
            heap.putLongRelease(control + MultiProcessWorker.STATE, MultiProcessWorker.WARMUP);
            Thread.sleep(config.warmupMillis());
            awaitWarmupOps(heap, control, n, config.warmupOps(), children, logs);
            heap.putLongRelease(control + MultiProcessWorker.STATE, MultiProcessWorker.MEASURE);
            long[][] windowOps = new long[config.windows()][n];
            long[] windowNanos = new long[config.windows()];
            long[] windowCpuNanos = new long[config.windows()];
            long[] before = new long[n];
            long cpuBefore = cpuNanos(children);
            long start = System.nanoTime();
            readCounts(heap, control, before);
            for (int w = 0; w < config.windows(); w++) {
                Thread.sleep(config.windowMillis());
                long[] after = new long[n];
                long end = System.nanoTime();
                readCounts(heap, control, after);
                long cpuAfter = cpuNanos(children);
                windowCpuNanos[w] = cpuBefore < 0 || cpuAfter < 0 ? -1 : cpuAfter - cpuBefore;
                cpuBefore = cpuAfter;
                for (int i = 0; i < n; i++) {
                    windowOps[w][i] = after[i] - before[i];
                }
                windowNanos[w] = end - start;
                before = after;
                start = end;
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
            return new RunResult(mix, n, launch, List.copyOf(perProcess), windowOps, windowNanos, windowCpuNanos, verify, stats.usedBytes());
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

    /** Waits (up to 120 s) until every process has done {@code ops} operations. */
    private static void awaitWarmupOps(ShmHeap heap, long control, int n, long ops, List<Process> children, Path logs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        long[] counts = new long[n];
        while (true) {
            readCounts(heap, control, counts);
            if (java.util.Arrays.stream(counts).allMatch(c -> c >= ops)) {
                return;
            }
            for (int i = 0; i < n; i++) {
                if (!children.get(i).isAlive()) {
                    throw new IllegalStateException("worker " + i + " exited during the warm-up:\n" + describe(children, logs));
                }
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("workers did not finish " + ops + " warm-up operations in 120 s: " + java.util.Arrays.toString(counts)
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
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JvmFlags.required());
        // Small children; C2 stays on (the hot loop is what is measured).
        command.add("-Xmx64m");
        command.add("-XX:+UseSerialGC");
        command.add("-XX:-UsePerfData");
        command.add("-cp");
        command.add(DriverSupport.classPath());
        command.add(MultiProcessWorker.class.getName());
        command.add(heap.toString());
        command.add(Long.toString(control));
        command.add(Integer.toString(index));
        command.add(mix.name());
        command.add(Long.toString(seed));
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

    /** Aggregate operations per second of CPU time the children used, per window where it is known. */
    static double[] perCpuSecond(List<RunResult> runs) {
        List<Double> values = new ArrayList<>();
        for (RunResult r : runs) {
            double[] rates = r.aggregateOpsPerSecond();
            double[] cores = r.coresObtained();
            for (int w = 0; w < rates.length; w++) {
                if (!Double.isNaN(cores[w]) && cores[w] > 0) {
                    values.add(rates[w] / cores[w]);
                }
            }
        }
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Medians over every window of every launch; the ratio is against the same mix with one JVM. */
    static List<ResultRow> rows(Config config, List<RunResult> results) {
        int cores = Runtime.getRuntime().availableProcessors();
        List<ResultRow> rows = new ArrayList<>();
        for (Mix mix : config.mixes()) {
            double baseline = Double.NaN;
            for (int n : config.processCounts()) {
                List<RunResult> runs = results.stream().filter(r -> r.mix() == mix && r.processes() == n).toList();
                double[] aggregate = runs.stream().flatMapToDouble(r -> java.util.Arrays.stream(r.aggregateOpsPerSecond())).toArray();
                double[] nsPerOp = runs.stream().flatMapToDouble(r -> java.util.Arrays.stream(r.processNsPerOp())).toArray();
                double agg = DriverSupport.median(aggregate);
                if (n == 1) {
                    baseline = agg;
                }
                double[] obtained = runs.stream().flatMapToDouble(r -> java.util.Arrays.stream(r.coresObtained())).filter(c -> !Double.isNaN(c))
                        .toArray();
                String ours = ResultRow.fmt(agg / 1e6, "Mops/s") + " aggregate (" + aggregate.length + " windows: "
                        + ResultRow.fmt(DriverSupport.min(aggregate) / 1e6, "") + "-" + ResultRow.fmt(DriverSupport.max(aggregate) / 1e6, "")
                        + "); " + ResultRow.fmt(DriverSupport.median(nsPerOp), "ns/op") + " per process"
                        + (obtained.length == 0 ? "" : "; the JVMs got " + ResultRow.fmt(DriverSupport.median(obtained), "") + " of " + Math.min(n, cores)
                        + " cores (median), " + ResultRow.fmt(DriverSupport.median(perCpuSecond(runs)) / 1e6, "Mops per CPU-second"));
                boolean targetRow = mix == Mix.SAME_CLASS_64 && n == 2;
                String target = targetRow ? ">= 1.00x (aggregate not below one process's)" : "";
                String met = targetRow ? ResultRow.met(agg >= baseline) : "";
                String caseName = mix.description + ", " + n + (n == 1 ? " JVM" : " JVMs") + (n > cores ? " on " + cores + " cores" : "");
                rows.add(new ResultRow("multi-process", caseName, ours, "same mix, 1 JVM",
                        Double.isNaN(baseline) ? "n/a" : ResultRow.fmt(baseline / 1e6, "Mops/s"),
                        Double.isNaN(baseline) ? "n/a" : ResultRow.ratio(agg, baseline), target, met));
            }
        }
        return rows;
    }

    static void printRows(Config config, List<RunResult> results) {
        DriverSupport.log(String.format(Locale.ROOT,
                "multi-process: medians over %d launch(es) x %d windows of %d ms after a warm-up of >= %d ms and >= %,d ops per process; "
                        + "heap %s sparse; %d cores; one op = one allocate + one free", config.launches(), config.windows(), config.windowMillis(),
                config.warmupMillis(), config.warmupOps(),
                DriverSupport.bytes(config.capacity()), Runtime.getRuntime().availableProcessors()));
        for (ResultRow row : rows(config, results)) {
            row.print();
        }
    }
}
