package dev.shmheap.bench.drivers;

import dev.shmheap.CreateOption;
import dev.shmheap.ShmHeap;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Allocate+free pairs on one thread, timed in the thread's CPU time rather than wall time: on
 * a machine shared with other work a descheduled thread spends no CPU, so the figure keeps its
 * meaning where JMH's wall-clock average does not (it cannot replace JMH on a quiet machine:
 * cache and TLB pollution by other processes still count). Per size, a quarter of the pairs
 * warm up, then {@code PAIRS} pairs are timed; one warm-up round, then three rounds are printed.
 *
 * <pre>
 * java &lt;JvmFlags&gt; -cp benchmarks/target/benchmarks.jar dev.shmheap.bench.drivers.PairCpuTime
 * </pre>
 */
public final class PairCpuTime {
    private static final long[] SIZES = {64, 16384, 262144, 1048576};
    private static final long PAIRS = 4_000_000;
    private static final int ROUNDS = 3;

    private PairCpuTime() {
    }

    public static void main(String[] args) throws Exception {
        Path path = DriverSupport.newHeapPath("paircpu");
        try (ShmHeap heap = ShmHeap.create(path, 1L << 30, CreateOption.SPARSE)) {
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            for (int round = 0; round <= ROUNDS; round++) {
                StringBuilder line = new StringBuilder(round == 0 ? "warm-up" : "round " + round);
                for (long size : SIZES) {
                    for (long i = 0; i < PAIRS / 4; i++) {
                        heap.free(heap.allocate(size));
                    }
                    long start = threads.getCurrentThreadCpuTime();
                    for (long i = 0; i < PAIRS; i++) {
                        heap.free(heap.allocate(size));
                    }
                    double ns = (threads.getCurrentThreadCpuTime() - start) / (double) PAIRS;
                    line.append(String.format(Locale.ROOT, "  %s: %.1f", DriverSupport.bytes(size), ns));
                }
                System.out.println(line + "  (ns of CPU per allocate+free pair)");
            }
        } finally {
            DriverSupport.delete(path);
        }
    }
}
