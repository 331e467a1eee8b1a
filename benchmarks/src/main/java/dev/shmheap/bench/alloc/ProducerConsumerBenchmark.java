package dev.shmheap.bench.alloc;

import dev.shmheap.ShmHeap;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
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
import org.openjdk.jmh.infra.Control;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One thread allocates and hands each block to a second thread through a single-producer
 * single-consumer ring; the second frees it. Every block is freed by a thread (on another
 * core) other than the one that allocated it, so the class's lock word, list head and set
 * occupancy words move between the cores' caches on every operation.
 *
 * <p>The score is each thread's time per operation, so the group's throughput is one block
 * per score. A full ring makes the producer wait and an empty one the consumer: the slower
 * side sets the pace of both. Baseline: the same hand-off of {@code new byte[n]} (the
 * consumer drops it) and of {@code ByteBuffer.allocateDirect(n)}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ProducerConsumerBenchmark {
    private static final int RING = 1024;
    private static final long EMPTY = -1;

    @State(Scope.Group)
    public static class Channel {
        @Param({"64", "1024", "4096", "16384", "262144"})
        public int size;

        BenchHeap bench;
        ShmHeap heap;
        final AtomicLongArray offsets = new AtomicLongArray(RING * 16);
        final AtomicReferenceArray<Object> objects = new AtomicReferenceArray<>(RING * 16);
        final Sequence produced = new Sequence();
        final Sequence consumed = new Sequence();

        @Setup(Level.Trial)
        public void setUp() throws Exception {
            bench = new BenchHeap("prodcons", 256L << 20);
            heap = bench.heap();
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            try {
                // heap blocks still in the ring when the trial ended go back (in the JVM
                // baselines' groups the offsets were never written and stay 0)
                for (long s = consumed.get(); s < produced.get(); s++) {
                    long offset = offsets.get(slot(s));
                    if (offset > 0) {
                        heap.free(offset);
                    }
                }
            } finally {
                bench.close();
            }
        }

        /** Ring slots one 128-byte pair of cache lines apart, so neighbours never share a line. */
        static int slot(long sequence) {
            return (int) (sequence & (RING - 1)) * 16;
        }
    }

    /** A sequence counter alone on its cache lines. */
    static final class Sequence extends AtomicLong {
        @SuppressWarnings("unused")
        long p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, p15;
    }

    @State(Scope.Thread)
    public static class Position {
        long next;
    }

    @Benchmark
    @Group("shmHeap")
    @GroupThreads(1)
    public void shmHeapProduce(Channel channel, Position position, Control control) {
        if (!waitForRoom(channel, position.next, control)) {
            return;
        }
        long offset = channel.heap.allocate(channel.size);
        channel.offsets.setRelease(Channel.slot(position.next), offset);
        channel.produced.setRelease(++position.next);
    }

    @Benchmark
    @Group("shmHeap")
    @GroupThreads(1)
    public long shmHeapConsume(Channel channel, Position position, Control control) {
        if (!waitForData(channel, position.next, control)) {
            return EMPTY;
        }
        long offset = channel.offsets.getAcquire(Channel.slot(position.next));
        channel.offsets.setRelease(Channel.slot(position.next), EMPTY);
        channel.consumed.setRelease(++position.next);
        channel.heap.free(offset);
        return offset;
    }

    @Benchmark
    @Group("newByteArray")
    @GroupThreads(1)
    public void newByteArrayProduce(Channel channel, Position position, Control control) {
        if (waitForRoom(channel, position.next, control)) {
            putObject(channel, position, new byte[channel.size]);
        }
    }

    @Benchmark
    @Group("newByteArray")
    @GroupThreads(1)
    public Object newByteArrayConsume(Channel channel, Position position, Control control) {
        return takeObject(channel, position, control);
    }

    @Benchmark
    @Group("allocateDirect")
    @GroupThreads(1)
    public void allocateDirectProduce(Channel channel, Position position, Control control) {
        if (waitForRoom(channel, position.next, control)) {
            putObject(channel, position, ByteBuffer.allocateDirect(channel.size));
        }
    }

    @Benchmark
    @Group("allocateDirect")
    @GroupThreads(1)
    public Object allocateDirectConsume(Channel channel, Position position, Control control) {
        return takeObject(channel, position, control);
    }

    private static void putObject(Channel channel, Position position, Object block) {
        channel.objects.setRelease(Channel.slot(position.next), block);
        channel.produced.setRelease(++position.next);
    }

    private static Object takeObject(Channel channel, Position position, Control control) {
        if (!waitForData(channel, position.next, control)) {
            return null;
        }
        Object block = channel.objects.getAcquire(Channel.slot(position.next));
        channel.objects.setRelease(Channel.slot(position.next), null);
        channel.consumed.setRelease(++position.next);
        return block;
    }

    // JMH stops the two threads of a group at slightly different times: a wait gives up
    // (false) once the iteration is over, instead of spinning forever on a stopped partner.

    private static boolean waitForRoom(Channel channel, long sequence, Control control) {
        while (sequence - channel.consumed.getAcquire() >= RING) {
            if (control.stopMeasurement) {
                return false;
            }
            Thread.onSpinWait();
        }
        return true;
    }

    private static boolean waitForData(Channel channel, long sequence, Control control) {
        while (channel.produced.getAcquire() <= sequence) {
            if (control.stopMeasurement) {
                return false;
            }
            Thread.onSpinWait();
        }
        return true;
    }
}
