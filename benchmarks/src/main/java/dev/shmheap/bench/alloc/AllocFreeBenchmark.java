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

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * One thread, one allocate+free pair per operation, for every size class and three buddy
 * sizes, with the JVM's own allocators as context: {@code new byte[n]} (a TLAB bump plus
 * zeroing; its "free" is the young GC, amortised into the figure) and
 * {@code ByteBuffer.allocateDirect(n)} (malloc plus zeroing plus a Cleaner; freed by GC).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AllocFreeBenchmark {
    @Param({"64", "128", "256", "512", "1024", "2048", "4096", "16384", "262144", "4194304"})
    public int size;

    private BenchHeap bench;
    private ShmHeap heap;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        bench = new BenchHeap("allocfree", 256L << 20);
        heap = bench.heap();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        bench.close();
    }

    @Benchmark
    public long shmHeap() {
        long offset = heap.allocate(size);
        heap.free(offset);
        return offset;
    }

    @Benchmark
    public byte[] newByteArray() {
        return new byte[size];
    }

    @Benchmark
    public ByteBuffer allocateDirect() {
        return ByteBuffer.allocateDirect(size);
    }
}
