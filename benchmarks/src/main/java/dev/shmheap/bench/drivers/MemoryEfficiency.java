package dev.shmheap.bench.drivers;

import dev.shmheap.CreateOption;
import dev.shmheap.HeapStats;
import dev.shmheap.ShmHeap;
import dev.shmheap.SizeClassStats;
import dev.shmheap.VerifyReport;
import dev.shmheap.bench.report.ResultRow;
import dev.shmheap.internal.layout.HeapLayout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * How much memory the heap spends besides what it hands out.
 *
 * <ul>
 *   <li><b>Metadata</b>: everything before the data region (header, process table, name
 *       directory, extent bitmaps, the page map of 32 bytes and the holder map of 64 bytes per
 *       4 KiB page) as a share of
 *       capacity, for 1 MiB, 1 GiB and 64 GiB heaps; the alignment padding between the page
 *       map and the data region is listed apart (address space only: never written, never
 *       reserved). There is no per-block header: a slab block's state is one bit of its set's
 *       page-map entry. Also the bytes the file really occupies right after creation (sparse).</li>
 *   <li><b>Internal fragmentation</b>: {@code sum(usableSize - requested) / sum(usableSize)}
 *       for uniform random request sizes 1..4096 and 1..1 MiB (fixed seed), compared with
 *       jemalloc's size classes and plain power-of-two rounding on the very same requests.
 *       1..4096: all requests live at once. 1..1 MiB: the heap is filled until a request
 *       fails, then a random quarter of the live blocks is freed and filling goes on; the
 *       heap's use at each failure is reported too (external fragmentation of the buddy).</li>
 *   <li><b>Slab page-level waste</b> from {@code stats()}: bytes of slab sets that hold no
 *       live block, at the peak and after freeing a random half of the blocks.</li>
 * </ul>
 * Rows: area "memory" on stdout; details on stderr. Every heap is verified clean (zero used
 * bytes) at the end and deleted, also on failure.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar &lt;JvmFlags&gt; dev.shmheap.bench.drivers.MemoryEfficiency [--quick]
 * </pre>
 */
public final class MemoryEfficiency {
    /**
     * @param capacities     heaps whose metadata share is reported
     * @param smallRequests  requests of 1..4096 bytes, all live at once
     * @param largeRequests  requests of 1..1 MiB
     * @param heapCapacity   capacity of the heap the requests go to (sparse)
     * @param seed           of the request sizes and the free order
     */
    public record Config(List<Long> capacities, int smallRequests, int largeRequests, long heapCapacity, long seed) {
        public static Config full() {
            return new Config(List.of(1L << 20, 1L << 30, 64L << 30), 100_000, 100_000, 512L << 20, 42);
        }

        public static Config quick() {
            return full();
        }
    }

    public record Metadata(long capacity, long beforeData, long fixedBytes, long pageMapBytes, long paddingBytes, long fileBytesAfterCreate) {
        /** Metadata that can ever be written (fixed regions + whole page map), as a share of capacity. */
        public double share() {
            return (double) (fixedBytes + pageMapBytes) / capacity;
        }
    }

    /** Waste of one request stream: ours and the two reference roundings of the same requests. */
    public record Fragmentation(String workload, long requests, long requestedBytes, long usableBytes, long jemallocBytes,
                                long powerOfTwoBytes) {
        public double internal() {
            return usableBytes == 0 ? 0 : (double) (usableBytes - requestedBytes) / usableBytes;
        }

        public double jemallocInternal() {
            return jemallocBytes == 0 ? 0 : (double) (jemallocBytes - requestedBytes) / jemallocBytes;
        }

        public double powerOfTwoInternal() {
            return powerOfTwoBytes == 0 ? 0 : (double) (powerOfTwoBytes - requestedBytes) / powerOfTwoBytes;
        }
    }

    /** Bytes of slab sets and of live blocks in them, from stats(). */
    public record SlabWaste(String moment, long setBytes, long usedBytes) {
        public double waste() {
            return setBytes == 0 ? 0 : (double) (setBytes - usedBytes) / setBytes;
        }
    }

    public record Result(List<Metadata> metadata, List<Fragmentation> fragmentation, List<SlabWaste> slabWaste,
                         double[] useAtFirstFailure, double[] requestedAtFirstFailure, List<VerifyReport> verifies) {
    }

    private MemoryEfficiency() {
    }

    public static void main(String[] args) {
        DriverSupport.runMain(args, Config::quick, Config::full, MemoryEfficiency::run, MemoryEfficiency::printRows);
    }

    public static Result run(Config config) throws Exception {
        List<Metadata> metadata = new ArrayList<>();
        for (long capacity : config.capacities()) {
            metadata.add(metadata(capacity));
        }
        List<Fragmentation> fragmentation = new ArrayList<>();
        List<SlabWaste> slabWaste = new ArrayList<>();
        List<VerifyReport> verifies = new ArrayList<>();
        fragmentation.add(smallRequests(config, slabWaste, verifies));
        List<Double> useAtFailure = new ArrayList<>();
        List<Double> requestedAtFailure = new ArrayList<>();
        fragmentation.add(largeRequests(config, useAtFailure, requestedAtFailure, verifies));
        return new Result(metadata, fragmentation, slabWaste, useAtFailure.stream().mapToDouble(Double::doubleValue).toArray(),
                requestedAtFailure.stream().mapToDouble(Double::doubleValue).toArray(), verifies);
    }

    static Metadata metadata(long capacity) throws IOException, InterruptedException {
        Path path = DriverSupport.newHeapPath("mem-meta");
        try (ShmHeap heap = ShmHeap.create(path, capacity, CreateOption.SPARSE)) {
            HeapLayout layout = HeapLayout.forCapacity(capacity, true);
            long beforeData = heap.fileLength() - heap.capacity();
            if (beforeData != layout.dataOffset()) {
                throw new IllegalStateException("layout disagrees with the heap: data offset " + layout.dataOffset() + " vs " + beforeData);
            }
            long fixed = layout.pageMapOffset();
            long pageMap = layout.pageMapLength() + layout.holderMapLength();
            return new Metadata(capacity, beforeData, fixed, pageMap, beforeData - fixed - pageMap, allocatedBytes(path));
        } finally {
            DriverSupport.delete(path);
        }
    }

    /** Bytes the file really occupies (st_blocks x 512), or -1 when stat(1) is not available. */
    static long allocatedBytes(Path path) throws InterruptedException {
        try {
            Process p = new ProcessBuilder("stat", "-c", "%b %B", path.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (p.waitFor() != 0) {
                return -1;
            }
            String[] parts = out.split("\\s+");
            return Long.parseLong(parts[0]) * Long.parseLong(parts[1]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Uniform 1..4096, every request live at once; slab waste at the peak and after freeing a random half. */
    static Fragmentation smallRequests(Config config, List<SlabWaste> slabWaste, List<VerifyReport> verifies) throws IOException {
        Path path = DriverSupport.newHeapPath("mem-small");
        SplittableRandom random = new SplittableRandom(config.seed());
        try (ShmHeap heap = ShmHeap.create(path, config.heapCapacity(), CreateOption.SPARSE)) {
            int n = config.smallRequests();
            long[] blocks = new long[n];
            Tally tally = new Tally();
            for (int i = 0; i < n; i++) {
                long size = 1 + random.nextInt(4096);
                blocks[i] = heap.allocate(size);
                tally.add(size, heap.usableSize(blocks[i]));
            }
            slabWaste.add(slabWaste("peak: " + n + " blocks live", heap.stats()));
            shuffle(blocks, random);
            for (int i = 0; i < n / 2; i++) {
                heap.free(blocks[i]);
            }
            slabWaste.add(slabWaste("after freeing a random half", heap.stats()));
            heap.trim();
            slabWaste.add(slabWaste("after freeing a random half, then trim()", heap.stats()));
            for (int i = n / 2; i < n; i++) {
                heap.free(blocks[i]);
            }
            verifies.add(checkClean(heap));
            return tally.result("uniform 1..4096 B, " + n + " requests all live");
        } finally {
            DriverSupport.delete(path);
        }
    }

    /**
     * Uniform 1..1 MiB with churn: allocate until a request fails, then free a random quarter
     * of the live blocks and go on (the failed request first), so that after the first fill
     * every failure happens in a heap fragmented by random frees.
     */
    static Fragmentation largeRequests(Config config, List<Double> useAtFailure, List<Double> requestedAtFailure, List<VerifyReport> verifies)
            throws IOException {
        Path path = DriverSupport.newHeapPath("mem-large");
        SplittableRandom random = new SplittableRandom(config.seed() + 1);
        try (ShmHeap heap = ShmHeap.create(path, config.heapCapacity(), CreateOption.SPARSE)) {
            int n = config.largeRequests();
            Tally tally = new Tally();
            long[] live = new long[(int) Math.min(n, heap.capacity() / 4096) + 1];
            long[] liveSizes = new long[live.length];
            int liveCount = 0;
            long liveRequested = 0;
            long pending = -1;
            int done = 0;
            while (done < n) {
                long size = pending > 0 ? pending : 1 + random.nextInt(1 << 20);
                long offset = heap.tryAllocate(size, ShmHeap.DEFAULT_ALIGNMENT);
                if (offset == ShmHeap.NO_SPACE) {
                    if (liveCount == 0) {
                        throw new IllegalStateException("an empty heap of " + heap.capacity() + " bytes cannot serve " + size + " bytes");
                    }
                    useAtFailure.add((double) heap.stats().usedBytes() / heap.capacity());
                    requestedAtFailure.add((double) liveRequested / heap.capacity());
                    for (int k = Math.max(1, liveCount / 4); k > 0; k--) {
                        int victim = random.nextInt(liveCount);
                        heap.free(live[victim]);
                        liveRequested -= liveSizes[victim];
                        liveCount--;
                        live[victim] = live[liveCount];
                        liveSizes[victim] = liveSizes[liveCount];
                    }
                    pending = size;
                    continue;
                }
                pending = -1;
                liveSizes[liveCount] = size;
                live[liveCount++] = offset;
                liveRequested += size;
                tally.add(size, heap.usableSize(offset));
                done++;
            }
            for (int i = 0; i < liveCount; i++) {
                heap.free(live[i]);
            }
            verifies.add(checkClean(heap));
            return tally.result("uniform 1 B..1 MiB, " + n + " requests, heap of " + DriverSupport.bytes(heap.capacity())
                    + " kept full (a random quarter freed at each failure)");
        } finally {
            DriverSupport.delete(path);
        }
    }

    private static VerifyReport checkClean(ShmHeap heap) {
        heap.trim();
        VerifyReport report = heap.verify();
        long used = heap.stats().usedBytes();
        if (!report.ok() || used != 0) {
            throw new IllegalStateException("heap " + heap + " not clean after freeing everything: usedBytes=" + used + ", " + report);
        }
        return report;
    }

    private static SlabWaste slabWaste(String moment, HeapStats stats) {
        long sets = 0;
        long used = 0;
        for (SizeClassStats c : stats.sizeClasses()) {
            sets += c.totalBytes();
            used += c.usedBytes();
        }
        return new SlabWaste(moment, sets, used);
    }

    private static void shuffle(long[] a, SplittableRandom random) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            long t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /**
     * jemalloc's size classes: 8, then multiples of 16 up to 128, then four classes per
     * doubling (160, 192, 224, 256, 320, ...), which continue as page multiples above 16 KiB.
     */
    static long jemallocClass(long n) {
        if (n <= 8) {
            return 8;
        }
        if (n <= 128) {
            return (n + 15) & -16;
        }
        int lg = 63 - Long.numberOfLeadingZeros(n - 1);
        long delta = 1L << (lg - 2);
        return (n + delta - 1) & -delta;
    }

    /** Power-of-two rounding with the same 64-byte minimum as our smallest class. */
    static long powerOfTwoClass(long n) {
        return n <= 64 ? 64 : Long.highestOneBit(n - 1) << 1;
    }

    private static final class Tally {
        long requests;
        long requested;
        long usable;
        long jemalloc;
        long powerOfTwo;

        void add(long size, long usableSize) {
            if (usableSize < size) {
                throw new IllegalStateException("usableSize " + usableSize + " < requested " + size);
            }
            requests++;
            requested += size;
            usable += usableSize;
            jemalloc += jemallocClass(size);
            powerOfTwo += powerOfTwoClass(size);
        }

        Fragmentation result(String workload) {
            return new Fragmentation(workload, requests, requested, usable, jemalloc, powerOfTwo);
        }
    }

    static List<ResultRow> rows(Config config, Result result) {
        List<ResultRow> rows = new ArrayList<>();
        for (Metadata m : result.metadata()) {
            String ours = DriverSupport.percent(m.share()) + " of capacity: " + DriverSupport.bytes(m.fixedBytes()) + " fixed + "
                    + DriverSupport.bytes(m.pageMapBytes()) + " page and holder maps (96 B per 4 KiB page); plus " + DriverSupport.bytes(m.paddingBytes())
                    + " alignment padding before the data (address space only, never written)"
                    + (m.fileBytesAfterCreate() >= 0 ? "; file occupies " + DriverSupport.bytes(m.fileBytesAfterCreate()) + " after create (sparse)" : "");
            rows.add(new ResultRow("memory", "metadata before the data region, " + DriverSupport.bytes(m.capacity()) + " heap", ours,
                    "reader's expectation: per-page state only, <= 1% of capacity", "1%", ResultRow.ratio(m.share(), 0.01), "", ""));
        }
        for (Fragmentation f : result.fragmentation()) {
            String ours = DriverSupport.percent(f.internal()) + " of usable bytes unused (" + String.format(Locale.ROOT, "%,d", f.requests())
                    + " requests, " + DriverSupport.human(f.usableBytes()) + " usable)";
            rows.add(new ResultRow("memory", "internal fragmentation, " + f.workload(), ours,
                    "jemalloc size classes (4 per doubling) on the same requests; a reader expects ~10-20% from such classes "
                            + "and ~25% from power-of-two classes (same requests rounded to powers of two >= 64 B: "
                            + DriverSupport.percent(f.powerOfTwoInternal()) + ")",
                    DriverSupport.percent(f.jemallocInternal()), ResultRow.ratio(f.internal(), f.jemallocInternal()), "", ""));
        }
        for (SlabWaste w : result.slabWaste()) {
            rows.add(new ResultRow("memory", "slab sets: bytes of free blocks inside sets, uniform 1..4096 B, " + w.moment(),
                    DriverSupport.percent(w.waste()) + " of " + DriverSupport.human(w.setBytes()) + " in sets",
                    "any slab allocator keeps a set until it is empty (jemalloc slabs too): expect ~0% at peak, "
                            + "about the freed share after random frees", "", "", "", ""));
        }
        if (result.useAtFirstFailure().length > 0) {
            double[] use = result.useAtFirstFailure();
            double[] requested = result.requestedAtFirstFailure();
            rows.add(new ResultRow("memory", "heap use when a 1 B..1 MiB request fails, heap churned by random frees (external fragmentation of the buddy)",
                    DriverSupport.percent(DriverSupport.median(use)) + " of capacity in blocks, median of " + use.length + " failures ("
                            + DriverSupport.percent(DriverSupport.min(use)) + "-" + DriverSupport.percent(DriverSupport.max(use)) + "); of which requested bytes: "
                            + DriverSupport.percent(DriverSupport.median(requested)) + " of capacity",
                    "ideal allocator without fragmentation: fails only above 100% - largest request", DriverSupport.percent(1 - (double) (1 << 20) / config.heapCapacity()),
                    ResultRow.ratio(DriverSupport.median(use), 1 - (double) (1 << 20) / config.heapCapacity()), "", ""));
        }
        return rows;
    }

    static void printRows(Config config, Result result) {
        DriverSupport.log(String.format(Locale.ROOT, "memory: seed %d, request heap %s sparse", config.seed(), DriverSupport.bytes(config.heapCapacity())));
        for (Fragmentation f : result.fragmentation()) {
            DriverSupport.log("memory: " + f);
        }
        for (ResultRow row : rows(config, result)) {
            row.print();
        }
    }
}
