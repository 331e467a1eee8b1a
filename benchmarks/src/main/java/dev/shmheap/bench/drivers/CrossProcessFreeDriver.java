package dev.shmheap.bench.drivers;

import dev.shmheap.CreateOption;
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
 * Allocate in one JVM, free in another: a producer JVM allocates blocks of one size and passes
 * their offsets through a ring in the heap (as a channel passes messages by offset) to a
 * consumer JVM that frees them ({@link CrossProcessFreeWorker}). Prints, per size, the time per
 * block (first allocation by the producer to last free by the consumer, over the blocks; one
 * monotonic clock for both JVMs) as {@link ResultRow}s of area "multi-process", with the 64 B
 * figure of the same run as the reference of the larger sizes (target: at most 2x).
 *
 * <p>Per size: a fresh sparse heap, two fresh child JVMs, {@code rounds} rounds of
 * {@code blocks} blocks each; the first {@code warmupRounds} are not counted; the figure is
 * the median round. After the last round the heap must verify clean with nothing used.
 */
public final class CrossProcessFreeDriver {
    public record Config(List<Long> sizes, int rounds, int warmupRounds, long blocks, long capacity) {
        public static Config full() {
            return new Config(List.of(64L, 16384L, 262144L), 9, 3, 200_000, 256L << 20);
        }

        public static Config quick() {
            return new Config(List.of(64L, 16384L, 262144L), 5, 2, 100_000, 256L << 20);
        }
    }

    /** One size: per counted round, ns per block. */
    public record SizeResult(long size, double[] nsPerBlock) {
        double median() {
            return DriverSupport.median(nsPerBlock);
        }
    }

    private CrossProcessFreeDriver() {
    }

    public static void main(String[] args) {
        DriverSupport.runMain(args, Config::quick, Config::full, CrossProcessFreeDriver::run, CrossProcessFreeDriver::printRows);
    }

    public static List<SizeResult> run(Config config) throws Exception {
        List<SizeResult> results = new ArrayList<>();
        for (long size : config.sizes()) {
            SizeResult r = runSize(config, size);
            DriverSupport.log(String.format(Locale.ROOT, "cross-process free: %s: rounds %s ns/block", DriverSupport.bytes(size),
                    Arrays.stream(r.nsPerBlock()).mapToObj(v -> String.format(Locale.ROOT, "%.1f", v)).toList()));
            results.add(r);
        }
        return results;
    }

    static SizeResult runSize(Config config, long size) throws Exception {
        Path path = DriverSupport.newHeapPath("xfree");
        Path logs = DriverSupport.newTempDirectory("xfree");
        List<Process> children = new ArrayList<>();
        try (ShmHeap heap = ShmHeap.create(path, config.capacity(), CreateOption.SPARSE)) {
            long control = heap.allocate(CrossProcessFreeWorker.CONTROL_BYTES, 4096);
            for (long o = 0; o < CrossProcessFreeWorker.CONTROL_BYTES; o += 8) {
                heap.putLong(control + o, 0);
            }
            long usedBefore = heap.stats().usedBytes();
            for (String role : List.of(CrossProcessFreeWorker.PRODUCER, CrossProcessFreeWorker.CONSUMER)) {
                children.add(start(path, control, role, size, config.blocks(), logs));
            }
            double[] ns = new double[config.rounds() - config.warmupRounds()];
            for (int round = 1; round <= config.rounds(); round++) {
                heap.putLongRelease(control + CrossProcessFreeWorker.ROUND, round);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (heap.getLongVolatile(control + CrossProcessFreeWorker.CONSUMER_DONE) < round) {
                    for (Process p : children) {
                        if (!p.isAlive()) {
                            throw new IllegalStateException("a worker exited during round " + round + ":\n" + describe(logs));
                        }
                    }
                    if (System.nanoTime() - deadline > 0) {
                        throw new IllegalStateException("round " + round + " did not end in 120 s:\n" + describe(logs));
                    }
                    Thread.sleep(1);
                }
                long start = heap.getLongVolatile(control + CrossProcessFreeWorker.PRODUCER_START);
                long end = heap.getLongVolatile(control + CrossProcessFreeWorker.CONSUMER_END);
                if (round > config.warmupRounds()) {
                    ns[round - config.warmupRounds() - 1] = (double) (end - start) / config.blocks();
                }
            }
            heap.putLongRelease(control + CrossProcessFreeWorker.ROUND, CrossProcessFreeWorker.STOP);
            for (Process p : children) {
                if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    throw new IllegalStateException("a worker did not exit cleanly:\n" + describe(logs));
                }
            }
            heap.trim();
            VerifyReport report = heap.verify();
            if (!report.ok() || heap.stats().usedBytes() != usedBefore) {
                throw new IllegalStateException("after the cross-process run of " + size + " B: " + report + "; used " + heap.stats().usedBytes()
                        + ", before " + usedBefore);
            }
            heap.free(control);
            return new SizeResult(size, ns);
        } finally {
            for (Process p : children) {
                p.destroyForcibly();
            }
            DriverSupport.delete(path);
            DriverSupport.delete(logs);
        }
    }

    private static Process start(Path heap, long control, String role, long size, long blocks, Path logs) throws IOException {
        List<String> command = DriverSupport.childCommand(CrossProcessFreeWorker.class, heap.toString(), Long.toString(control), role,
                Long.toString(size), Long.toString(blocks));
        Process process = new ProcessBuilder(command)
                .redirectOutput(logs.resolve(role + ".out").toFile())
                .redirectError(logs.resolve(role + ".err").toFile())
                .start();
        process.getOutputStream().close();
        return process;
    }

    private static String describe(Path logs) {
        StringBuilder sb = new StringBuilder();
        for (String role : List.of(CrossProcessFreeWorker.PRODUCER, CrossProcessFreeWorker.CONSUMER)) {
            for (String stream : List.of("out", "err")) {
                Path f = logs.resolve(role + "." + stream);
                try {
                    if (Files.exists(f)) {
                        sb.append("--- ").append(role).append(' ').append(stream).append(" ---\n").append(Files.readString(f, StandardCharsets.UTF_8));
                    }
                } catch (IOException e) {
                    sb.append("(cannot read ").append(f).append(")\n");
                }
            }
        }
        return sb.toString();
    }

    static List<ResultRow> rows(Config config, List<SizeResult> results) {
        double base = results.stream().filter(r -> r.size() == 64).mapToDouble(SizeResult::median).findFirst().orElse(Double.NaN);
        List<ResultRow> rows = new ArrayList<>();
        for (SizeResult r : results) {
            double median = r.median();
            String ours = ResultRow.fmt(median, "ns") + " per block (" + r.nsPerBlock().length + " rounds of " + String.format(Locale.ROOT, "%,d", config.blocks())
                    + " blocks: " + ResultRow.fmt(DriverSupport.min(r.nsPerBlock()), "") + "-" + ResultRow.fmt(DriverSupport.max(r.nsPerBlock()), "") + ")";
            boolean target = r.size() > 64;
            rows.add(new ResultRow("multi-process", "allocate in one JVM, free in another (offsets through a ring of "
                    + CrossProcessFreeWorker.RING + " in the heap), " + DriverSupport.bytes(r.size()), ours,
                    target ? "the same at 64 B" : "", target ? ResultRow.fmt(base, "ns") : "", target ? ResultRow.ratio(median, base) : "",
                    target ? "<= 2x the 64 B figure" : "", target ? ResultRow.met(median <= 2 * base) : ""));
        }
        return rows;
    }

    static void printRows(Config config, List<SizeResult> results) {
        for (ResultRow row : rows(config, results)) {
            row.print();
        }
    }
}
