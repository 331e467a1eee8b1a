package dev.shmheap.bench;

import dev.shmheap.CreateOption;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Single-thread cost of one allocate+free pair, per size, with the JVM's own allocators as
 * context. The heap lives in /dev/shm (or java.io.tmpdir) and is deleted at tear-down.
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

    private Path path;
    private ShmHeap heap;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Path dir = Files.isWritable(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
        path = dir.resolve("shmheap-bench-" + ProcessHandle.current().pid() + ".heap");
        Files.deleteIfExists(path);
        heap = ShmHeap.create(path, 256L << 20, CreateOption.SPARSE);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        heap.close();
        Files.deleteIfExists(path);
    }

    @Benchmark
    public long shmHeapAllocateFree() {
        long offset = heap.allocate(size);
        heap.free(offset);
        return offset;
    }

    @Benchmark
    public byte[] javaNewByteArray() {
        return new byte[size];
    }

    @Benchmark
    public ByteBuffer javaAllocateDirect() {
        return ByteBuffer.allocateDirect(size);
    }
}
