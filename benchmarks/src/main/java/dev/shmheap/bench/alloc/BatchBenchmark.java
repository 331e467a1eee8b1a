package dev.shmheap.bench.alloc;

import dev.shmheap.ShmHeap;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Allocate a batch, then free it in random order: the pattern that defeats a
 * last-in-first-out cache and exercises set switching (slab) and splitting and merging
 * (buddy). The score is the time per block (allocate plus free).
 *
 * <p>The batch is 10,000 blocks, capped at 1 GiB of blocks in all: 256 KiB blocks come in
 * batches of 4,096 and 4 MiB blocks in batches of 256, since 10,000 of those (39 GiB) would
 * not fit this machine's /dev/shm. The free order is a fixed random permutation per trial.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class BatchBenchmark {
    static final int MAX_BATCH = 10_000;
    static final long MAX_BATCH_BYTES = 1L << 30;

    @Param({"64", "128", "256", "512", "1024", "2048", "4096", "16384", "262144", "4194304"})
    public int size;

    private BenchHeap bench;
    private ShmHeap heap;
    private int batch;
    private int[] freeOrder;
    private long[] offsets;
    private Object[] objects;

    /** Blocks per batch for {@code size}. */
    public static int batchFor(int size) {
        return (int) Math.min(MAX_BATCH, MAX_BATCH_BYTES / size);
    }

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        batch = batchFor(size);
        // twice the batch: buddy blocks need room to be placed whatever the fragmentation
        bench = new BenchHeap("batch", Math.max(256L << 20, Long.highestOneBit(2L * batch * size - 1) << 1));
        heap = bench.heap();
        offsets = new long[batch];
        objects = new Object[batch];
        freeOrder = new int[batch];
        for (int i = 0; i < batch; i++) {
            freeOrder[i] = i;
        }
        Random random = new Random(42);
        for (int i = batch - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = freeOrder[i];
            freeOrder[i] = freeOrder[j];
            freeOrder[j] = t;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        bench.close();
    }

    /** JMH divides by the batch: see {@link #perBlock}. */
    @Benchmark
    public void shmHeap(Blackhole hole) {
        for (int i = 0; i < batch; i++) {
            offsets[i] = heap.allocate(size);
        }
        for (int i = 0; i < batch; i++) {
            heap.free(offsets[freeOrder[i]]);
        }
        hole.consume(offsets);
    }

    @Benchmark
    public void newByteArray(Blackhole hole) {
        for (int i = 0; i < batch; i++) {
            objects[i] = new byte[size];
        }
        hole.consume(objects);
        for (int i = 0; i < batch; i++) {
            objects[freeOrder[i]] = null;
        }
    }

    @Benchmark
    public void allocateDirect(Blackhole hole) {
        for (int i = 0; i < batch; i++) {
            objects[i] = ByteBuffer.allocateDirect(size);
        }
        hole.consume(objects);
        for (int i = 0; i < batch; i++) {
            objects[freeOrder[i]] = null;
        }
    }

    /** The per-block time of a batch score. */
    public static double perBlock(double batchScore, int size) {
        return batchScore / batchFor(size);
    }
}
