package dev.shmheap.bench;

import dev.shmheap.JvmFlags;
import dev.shmheap.bench.alloc.AllocFreeBenchmark;
import dev.shmheap.bench.alloc.BatchBenchmark;
import dev.shmheap.bench.alloc.ProducerConsumerBenchmark;
import dev.shmheap.bench.report.ResultRow;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the allocator's JMH benchmarks (pair, batch, producer/consumer) and prints them as
 * {@link ResultRow}s beside their JVM baselines. {@code --quick} measures fewer sizes with
 * shorter iterations. JMH's own progress goes to stderr.
 */
public final class JmhSuite {
    /** The target for one 64-byte allocate+free pair on one thread. */
    static final double PAIR_64_TARGET_NS = 25;

    private JmhSuite() {
    }

    public static void main(String[] args) throws RunnerException {
        boolean quick = List.of(args).contains("--quick");
        String[] pairSizes = quick ? new String[]{"64", "4096", "16384", "4194304"}
                : new String[]{"64", "128", "256", "512", "1024", "2048", "4096", "16384", "262144", "4194304"};
        String[] batchSizes = quick ? new String[]{"64", "4096", "262144"} : pairSizes;
        String[] handOffSizes = quick ? new String[]{"64", "4096"} : new String[]{"64", "1024", "4096", "16384", "262144"};

        for (RunResult r : run(AllocFreeBenchmark.class, pairSizes, quick)) {
            collect(r);
        }
        printPairs();
        for (RunResult r : run(BatchBenchmark.class, batchSizes, quick)) {
            collect(r);
        }
        printBatches();
        for (RunResult r : run(ProducerConsumerBenchmark.class, handOffSizes, quick)) {
            collect(r);
        }
        printHandOffs();
    }

    private static Collection<RunResult> run(Class<?> benchmark, String[] sizes, boolean quick) throws RunnerException {
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include(benchmark.getName().replace(".", "\\.") + "\\.")
                .param("size", sizes)
                .jvmArgsAppend(JvmFlags.required().toArray(String[]::new))
                .forks(1)
                .verbosity(VerboseMode.SILENT);
        if (quick) {
            options.warmupIterations(2).warmupTime(TimeValue.milliseconds(500))
                    .measurementIterations(3).measurementTime(TimeValue.milliseconds(500));
        }
        System.err.println("JMH: " + benchmark.getSimpleName() + " sizes " + String.join(",", sizes) + " ...");
        return new Runner(options.build()).run();
    }

    /** benchmark method (or group) name + "/" + size -> primary result. */
    private static final Map<String, Result<?>> RESULTS = new HashMap<>();
    private static final List<String> PAIR_SIZES = new ArrayList<>();
    private static final List<String> BATCH_SIZES = new ArrayList<>();
    private static final List<String> HAND_OFF_SIZES = new ArrayList<>();

    private static void collect(RunResult r) {
        String label = r.getParams().getBenchmark();
        String name = label.substring(label.lastIndexOf('.') + 1);
        String size = r.getParams().getParam("size");
        RESULTS.put(label.substring(0, label.lastIndexOf('.')) + "." + name + "/" + size, r.getPrimaryResult());
        List<String> sizes = label.contains("AllocFree") ? PAIR_SIZES : label.contains("Batch") ? BATCH_SIZES : HAND_OFF_SIZES;
        if (!sizes.contains(size)) {
            sizes.add(size);
        }
    }

    private static Result<?> result(Class<?> benchmark, String method, String size) {
        return RESULTS.get(benchmark.getName() + "." + method + "/" + size);
    }

    private static void printPairs() {
        for (String size : PAIR_SIZES) {
            boolean target = size.equals("64");
            double ours = score(result(AllocFreeBenchmark.class, "shmHeap", size), 1);
            row("alloc+free pair, 1 thread", bytes(size), result(AllocFreeBenchmark.class, "shmHeap", size), 1,
                    result(AllocFreeBenchmark.class, "newByteArray", size), result(AllocFreeBenchmark.class, "allocateDirect", size),
                    target ? "< " + (int) PAIR_64_TARGET_NS + " ns" : "", target ? ResultRow.met(ours < PAIR_64_TARGET_NS) : "");
        }
    }

    private static void printBatches() {
        for (String size : BATCH_SIZES) {
            int batch = BatchBenchmark.batchFor(Integer.parseInt(size));
            double per = 1.0 / batch;
            row("batch alloc, random-order free, per block", bytes(size) + " x " + batch, result(BatchBenchmark.class, "shmHeap", size),
                    per, result(BatchBenchmark.class, "newByteArray", size), result(BatchBenchmark.class, "allocateDirect", size), "", "");
        }
    }

    private static void printHandOffs() {
        for (String size : HAND_OFF_SIZES) {
            row("alloc on thread A, free on thread B, per block", bytes(size), result(ProducerConsumerBenchmark.class, "shmHeap", size), 1,
                    result(ProducerConsumerBenchmark.class, "newByteArray", size),
                    result(ProducerConsumerBenchmark.class, "allocateDirect", size), "", "");
        }
    }

    private static void row(String area, String benchCase, Result<?> ours, double scale, Result<?> array, Result<?> direct,
                            String target, String met) {
        if (ours == null) {
            return;
        }
        double o = score(ours, scale);
        double a = score(array, scale);
        double d = score(direct, scale);
        new ResultRow(area, benchCase, withError(ours, scale),
                "new byte[n] / allocateDirect(n)",
                ResultRow.fmt(a, "ns") + " / " + ResultRow.fmt(d, "ns"),
                ResultRow.ratio(o, a) + " / " + ResultRow.ratio(o, d), target, met).print();
    }

    private static double score(Result<?> result, double scale) {
        return result == null ? Double.NaN : result.getScore() * scale;
    }

    private static String withError(Result<?> result, double scale) {
        double error = result.getScoreError() * scale;
        return ResultRow.fmt(result.getScore() * scale, "") + (Double.isNaN(error) ? "" : " ± " + ResultRow.fmt(error, "")) + " ns";
    }

    private static String bytes(String size) {
        long n = Long.parseLong(size);
        return n >= 1 << 20 ? (n >> 20) + " MiB" : n >= 1024 ? (n >> 10) + " KiB" : n + " B";
    }
}
