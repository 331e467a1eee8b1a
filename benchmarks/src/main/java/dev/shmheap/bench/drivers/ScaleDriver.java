package dev.shmheap.bench.drivers;

import dev.shmheap.CreateOption;
import dev.shmheap.ShmHeap;
import dev.shmheap.VerifyReport;
import dev.shmheap.bench.report.ResultRow;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Does the heap's cost depend on its capacity? Single thread, sparse heaps of 1 MiB, 1 GiB and
 * 64 GiB open at the same time: the cost of an allocate+free pair of 64 B and of 1 MiB, the
 * time of {@code ShmHeap.open} on an existing heap, and of {@code ShmHeap.create}.
 *
 * <p>Method: every (capacity, size) case is warmed up, then measured in rounds; in each round
 * every case runs one timed batch, in an order that rotates from round to round, so drift of
 * the (shared, noisy) machine spreads over all cases alike. Figures are medians of the rounds
 * with the inter-quartile range. The ratio is this capacity / smallest capacity that can
 * serve the request, as the median of the per-round ratios (cases of one round ran back to
 * back); "flat" means the largest capacity's ratio is at most {@link #FLAT}. Every heap file is
 * deleted at the end, also on failure. Rows: area "scale" on stdout; progress on stderr.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar &lt;JvmFlags&gt; dev.shmheap.bench.drivers.ScaleDriver [--quick]
 * </pre>
 */
public final class ScaleDriver {
    /** The largest ratio (largest capacity / smallest) still called flat. */
    public static final double FLAT = 1.5;

    /**
     * @param capacities    heap capacities, smallest first
     * @param sizes         request sizes of the allocate+free pairs
     * @param warmupOps     untimed pairs per (capacity, size) before the rounds
     * @param rounds        timed rounds; one batch of every case per round
     * @param batchNanos    approximate length of one timed batch (the op count is calibrated)
     * @param openRepeats   timed opens per capacity (after 3 untimed ones)
     * @param createRepeats timed creates per capacity
     */
    public record Config(List<Long> capacities, List<Long> sizes, int warmupOps, int rounds, long batchNanos, int openRepeats,
                         int createRepeats) {
        public static Config full() {
            return new Config(List.of(1L << 20, 1L << 30, 64L << 30), List.of(64L, 1L << 20), 200_000, 301, 500_000, 51, 11);
        }

        public static Config quick() {
            return new Config(List.of(1L << 20, 1L << 30, 64L << 30), List.of(64L, 1L << 20), 100_000, 101, 500_000, 21, 5);
        }
    }

    /** Samples of one measured thing at one capacity; {@code samples} empty and {@code note} set when not applicable. */
    public record Measurement(String what, long capacity, long size, double[] samples, String note) {
        /** Pairs measured while one other block of the same size is live (see {@link #HELD}). */
        public boolean held() {
            return what.equals(HELD);
        }

        public double median() {
            return DriverSupport.median(samples);
        }

        public boolean applicable() {
            return samples.length > 0;
        }
    }

    public record Result(List<Measurement> measurements, List<VerifyReport> verifies) {
        public List<Measurement> of(String what, long size) {
            return measurements.stream().filter(m -> m.what().equals(what) && m.size() == size).toList();
        }
    }

    static final String PAIR = "pair";
    /**
     * Buddy sizes (over 4 KiB) again, with one other block of the same size live during the
     * batch: the pair then reuses that block's free buddy and never splits or merges above it,
     * as in a heap that is in use. On an empty heap every pair splits from the top order down
     * and merges all the way back.
     */
    static final String HELD = "pair-held";
    static final String OPEN = "open";
    static final String CREATE = "create";

    private ScaleDriver() {
    }

    public static void main(String[] args) {
        DriverSupport.runMain(args, Config::quick, Config::full, ScaleDriver::run, ScaleDriver::printRows);
    }

    public static Result run(Config config) throws Exception {
        List<Path> paths = new ArrayList<>();
        List<ShmHeap> heaps = new ArrayList<>();
        List<Measurement> measurements = new ArrayList<>();
        List<VerifyReport> verifies = new ArrayList<>();
        try {
            // create: fresh files, each deleted at once
            Map<Long, List<Double>> createTimes = new LinkedHashMap<>();
            for (int r = 0; r < config.createRepeats(); r++) {
                for (long capacity : config.capacities()) {
                    Path p = DriverSupport.newHeapPath("scale-create");
                    try {
                        long t0 = System.nanoTime();
                        ShmHeap h = ShmHeap.create(p, capacity, CreateOption.SPARSE);
                        long t1 = System.nanoTime();
                        h.close();
                        createTimes.computeIfAbsent(capacity, k -> new ArrayList<>()).add((double) (t1 - t0));
                    } finally {
                        DriverSupport.delete(p);
                    }
                }
            }
            for (long capacity : config.capacities()) {
                List<Double> times = createTimes.getOrDefault(capacity, List.of());
                // the first round pays class loading: drop it when there are others (for every capacity, so rounds stay aligned)
                double[] samples = times.stream().skip(times.size() > 1 ? 1 : 0).mapToDouble(Double::doubleValue).toArray();
                measurements.add(new Measurement(CREATE, capacity, 0, samples, null));
            }

            for (long capacity : config.capacities()) {
                Path p = DriverSupport.newHeapPath("scale");
                paths.add(p);
                heaps.add(ShmHeap.create(p, capacity, CreateOption.SPARSE));
            }

            // allocate+free pairs
            record Case(int heap, long size, boolean held, int batch) {
            }
            List<Case> cases = new ArrayList<>();
            for (int h = 0; h < heaps.size(); h++) {
                ShmHeap heap = heaps.get(h);
                for (long size : config.sizes()) {
                    for (boolean held : size > 4096 ? new boolean[] {false, true} : new boolean[] {false}) {
                        heap.trim();
                        String why = whyNot(heap, size);
                        long holder = ShmHeap.NO_SPACE;
                        if (why == null && held) {
                            holder = heap.tryAllocate(size, ShmHeap.DEFAULT_ALIGNMENT);
                            long probe = holder == ShmHeap.NO_SPACE ? ShmHeap.NO_SPACE : heap.tryAllocate(size, ShmHeap.DEFAULT_ALIGNMENT);
                            if (probe == ShmHeap.NO_SPACE) {
                                why = "no room for a second " + DriverSupport.bytes(size) + " block";
                            } else {
                                heap.free(probe);
                            }
                        }
                        if (why != null) {
                            if (holder != ShmHeap.NO_SPACE) {
                                heap.free(holder);
                            }
                            measurements.add(new Measurement(held ? HELD : PAIR, heap.capacity(), size, new double[0], why));
                            DriverSupport.log("scale: " + DriverSupport.bytes(size) + (held ? " (one other live)" : "") + " on "
                                    + DriverSupport.bytes(heap.capacity()) + ": n/a, " + why);
                            continue;
                        }
                        for (int i = 0; i < config.warmupOps(); i++) {
                            heap.free(heap.allocate(size));
                        }
                        // calibrate the batch to about batchNanos
                        long t0 = System.nanoTime();
                        int probe = 1000;
                        for (int i = 0; i < probe; i++) {
                            heap.free(heap.allocate(size));
                        }
                        double ns = Math.max(1, (System.nanoTime() - t0) / (double) probe);
                        if (holder != ShmHeap.NO_SPACE) {
                            heap.free(holder);
                        }
                        cases.add(new Case(h, size, held, (int) Math.max(100, Math.min(10_000_000, config.batchNanos() / ns))));
                    }
                }
            }
            double[][] pairSamples = new double[cases.size()][config.rounds()];
            for (int r = 0; r < config.rounds(); r++) {
                for (int k = 0; k < cases.size(); k++) {
                    int index = (k + r) % cases.size();
                    Case c = cases.get(index);
                    ShmHeap heap = heaps.get(c.heap());
                    long size = c.size();
                    heap.trim(); // untimed: an empty set parked by the other size must not make the first allocate bounce it
                    long holder = c.held() ? heap.allocate(size) : ShmHeap.NO_SPACE;
                    long t0 = System.nanoTime();
                    for (int i = 0; i < c.batch(); i++) {
                        heap.free(heap.allocate(size));
                    }
                    long t1 = System.nanoTime();
                    if (holder != ShmHeap.NO_SPACE) {
                        heap.free(holder);
                    }
                    pairSamples[index][r] = (t1 - t0) / (double) c.batch();
                }
            }
            for (int k = 0; k < cases.size(); k++) {
                Case c = cases.get(k);
                measurements.add(new Measurement(c.held() ? HELD : PAIR, heaps.get(c.heap()).capacity(), c.size(), pairSamples[k],
                        "batches of " + c.batch()));
            }

            // open
            double[][] openSamples = new double[heaps.size()][config.openRepeats()];
            for (int r = -3; r < config.openRepeats(); r++) {
                for (int k = 0; k < heaps.size(); k++) {
                    int index = (k + Math.max(r, 0)) % heaps.size();
                    long t0 = System.nanoTime();
                    ShmHeap opened = ShmHeap.open(paths.get(index));
                    long t1 = System.nanoTime();
                    opened.close();
                    if (r >= 0) {
                        openSamples[index][r] = t1 - t0;
                    }
                }
            }
            for (int k = 0; k < heaps.size(); k++) {
                measurements.add(new Measurement(OPEN, heaps.get(k).capacity(), 0, openSamples[k], null));
            }

            for (ShmHeap heap : heaps) {
                heap.trim();
                VerifyReport report = heap.verify();
                long used = heap.stats().usedBytes();
                if (!report.ok() || used != 0) {
                    throw new IllegalStateException("heap " + heap + " not clean after the scale runs: usedBytes=" + used + ", " + report);
                }
                verifies.add(report);
            }
            return new Result(measurements, verifies);
        } finally {
            for (ShmHeap heap : heaps) {
                heap.close();
            }
            for (Path p : paths) {
                DriverSupport.delete(p);
            }
        }
    }

    /** Why a request of {@code size} cannot be measured on this heap, or null. */
    private static String whyNot(ShmHeap heap, long size) {
        if (size > heap.largestBlockSize()) {
            return "largest block of this heap is " + DriverSupport.bytes(heap.largestBlockSize());
        }
        heap.trim();
        long probe = heap.tryAllocate(size, ShmHeap.DEFAULT_ALIGNMENT);
        if (probe == ShmHeap.NO_SPACE) {
            return "the empty heap cannot serve it (" + heap.stats().availableBytes() + " bytes available)";
        }
        heap.free(probe);
        return null;
    }

    static List<ResultRow> rows(Config config, Result result) {
        List<ResultRow> rows = new ArrayList<>();
        for (long size : config.sizes()) {
            rows.addAll(rowsFor(result.of(PAIR, size), "allocate+free " + DriverSupport.bytes(size) + ", single thread"
                    + (size > 4096 ? ", otherwise empty heap (merging deferred: the freed block is reused)" : ""), "ns"));
            if (!result.of(HELD, size).isEmpty()) {
                rows.addAll(rowsFor(result.of(HELD, size), "allocate+free " + DriverSupport.bytes(size)
                        + ", single thread, one other " + DriverSupport.bytes(size) + " block live", "ns"));
            }
        }
        rows.addAll(rowsFor(result.of(OPEN, 0), "ShmHeap.open of an existing heap", "us"));
        rows.addAll(rowsFor(result.of(CREATE, 0), "ShmHeap.create, SPARSE", "us"));
        return rows;
    }

    private static List<ResultRow> rowsFor(List<Measurement> ms, String what, String unit) {
        double divisor = unit.equals("us") ? 1000 : 1;
        List<ResultRow> rows = new ArrayList<>();
        Measurement base = ms.stream().filter(Measurement::applicable).findFirst().orElse(null);
        Measurement largest = ms.isEmpty() ? null : ms.get(ms.size() - 1);
        for (Measurement m : ms) {
            String caseName = what + ", " + DriverSupport.bytes(m.capacity()) + " heap";
            if (!m.applicable()) {
                rows.add(new ResultRow("scale", caseName, "n/a: " + m.note(), "", "", "", "", ""));
                continue;
            }
            double[] q = quartiles(m.samples());
            String ours = ResultRow.fmt(m.median() / divisor, unit) + " (IQR " + ResultRow.fmt(q[0] / divisor, "") + "-"
                    + ResultRow.fmt(q[1] / divisor, "") + ", " + m.samples().length + " samples)";
            boolean isTarget = m == largest && base != null && base != m;
            String refName = base == null || base == m ? "" : "same, " + DriverSupport.bytes(base.capacity()) + " heap"
                    + (base.capacity() == ms.get(0).capacity() ? "" : " (smallest that fits)");
            String refValue = base == null || base == m ? "" : ResultRow.fmt(base.median() / divisor, unit);
            double r = base == null || base == m ? Double.NaN : pairedRatio(m, base);
            String ratio = Double.isNaN(r) ? "" : String.format(Locale.ROOT, "%.2fx", r);
            String target = isTarget ? String.format(Locale.ROOT, "flat: <= %.2fx", FLAT) : "";
            String met = isTarget ? ResultRow.met(r <= FLAT) : "";
            rows.add(new ResultRow("scale", caseName, ours, refName, refValue, ratio, target, met));
        }
        return rows;
    }

    /**
     * The median over rounds of m/base within the same round (the cases of one round ran
     * back to back, so they share the machine's state of the moment); ratio of medians when
     * the sample counts differ.
     */
    static double pairedRatio(Measurement m, Measurement base) {
        if (m.samples().length != base.samples().length) {
            return m.median() / base.median();
        }
        double[] ratios = new double[m.samples().length];
        for (int i = 0; i < ratios.length; i++) {
            ratios[i] = m.samples()[i] / base.samples()[i];
        }
        return DriverSupport.median(ratios);
    }

    /** 25th and 75th percentile (nearest rank). */
    static double[] quartiles(double[] values) {
        double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        int n = sorted.length;
        return new double[] {sorted[(int) Math.floor((n - 1) * 0.25)], sorted[(int) Math.ceil((n - 1) * 0.75)]};
    }

    static void printRows(Config config, Result result) {
        DriverSupport.log(String.format(Locale.ROOT, "scale: %d rounds, batches of about %.1f ms, %d opens per capacity, %d creates; "
                + "medians with inter-quartile range; ratio = median of per-round ratios; flat = largest/smallest <= %.2fx", config.rounds(), config.batchNanos() / 1e6,
                config.openRepeats(), config.createRepeats(), FLAT));
        for (ResultRow row : rows(config, result)) {
            row.print();
        }
    }
}
