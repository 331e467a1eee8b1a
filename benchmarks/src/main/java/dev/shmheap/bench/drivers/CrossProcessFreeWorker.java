package dev.shmheap.bench.drivers;

import dev.shmheap.ShmHeap;

import java.nio.file.Path;

/**
 * One child JVM of {@link CrossProcessFreeDriver}: the producer allocates blocks and puts their
 * offsets into a single-producer single-consumer ring in the heap; the consumer takes them out
 * and frees them. Each round starts when the driver raises the round word; the producer stamps
 * its start, the consumer its end and then "done".
 *
 * <p>Arguments: heap path, control block offset, role, block size, blocks per round.
 *
 * <pre>
 * control block, each field alone on 128 bytes:
 *   0   ROUND          written by the driver: round number, or STOP
 *   128 TAIL           ring entries published by the producer
 *   256 HEAD           ring entries freed by the consumer
 *   384 PRODUCER_START System.nanoTime() at the producer's first allocation of the round
 *   512 CONSUMER_END   System.nanoTime() after the consumer's last free of the round
 *   640 CONSUMER_DONE  the last round the consumer finished
 *   768 RING           RING offsets of 8 bytes
 * </pre>
 */
public final class CrossProcessFreeWorker {
    static final String PRODUCER = "producer";
    static final String CONSUMER = "consumer";
    static final long ROUND = 0;
    static final long TAIL = 128;
    static final long HEAD = 256;
    static final long PRODUCER_START = 384;
    static final long CONSUMER_END = 512;
    static final long CONSUMER_DONE = 640;
    static final long RING_OFFSET = 768;
    /** Ring entries: a power of two. 64 blocks of 256 KiB in flight at most. */
    static final int RING = 64;
    static final long CONTROL_BYTES = RING_OFFSET + RING * 8L;
    static final long STOP = -1;
    /** Spins before a wait yields the core (2 cores, shared). */
    private static final int SPINS = 1 << 10;

    private CrossProcessFreeWorker() {
    }

    public static void main(String[] args) throws Exception {
        Path path = Path.of(args[0]);
        long control = Long.parseLong(args[1]);
        boolean producer = args[2].equals(PRODUCER);
        long size = Long.parseLong(args[3]);
        long blocks = Long.parseLong(args[4]);
        try (ShmHeap heap = ShmHeap.open(path)) {
            long done = 0;
            long round;
            while ((round = awaitRound(heap, control, done)) != STOP) {
                if (producer) {
                    produce(heap, control, size, blocks);
                } else {
                    consume(heap, control, blocks);
                    heap.putLongRelease(control + CONSUMER_DONE, round);
                }
                done = round;
            }
        }
    }

    private static long awaitRound(ShmHeap heap, long control, long done) {
        long round;
        while ((round = heap.getLongVolatile(control + ROUND)) == done) {
            java.util.concurrent.locks.LockSupport.parkNanos(100_000);
        }
        return round;
    }

    private static void produce(ShmHeap heap, long control, long size, long blocks) {
        long tail = heap.getLongVolatile(control + TAIL);
        long head = heap.getLongVolatile(control + HEAD);
        heap.putLongRelease(control + PRODUCER_START, System.nanoTime());
        for (long i = 0; i < blocks; i++) {
            long block = heap.allocate(size);
            int spins = 0;
            while (tail - head >= RING) {
                head = heap.getLongVolatile(control + HEAD);
                spins = pause(spins);
            }
            heap.putLong(control + RING_OFFSET + (tail & (RING - 1)) * 8, block);
            heap.putLongRelease(control + TAIL, ++tail);
        }
    }

    private static void consume(ShmHeap heap, long control, long blocks) {
        long head = heap.getLongVolatile(control + HEAD);
        long tail = heap.getLongVolatile(control + TAIL);
        for (long i = 0; i < blocks; i++) {
            int spins = 0;
            while (head == tail) {
                tail = heap.getLongVolatile(control + TAIL);
                spins = pause(spins);
            }
            heap.free(heap.getLong(control + RING_OFFSET + (head & (RING - 1)) * 8));
            heap.putLongRelease(control + HEAD, ++head);
        }
        heap.putLongRelease(control + CONSUMER_END, System.nanoTime());
    }

    private static int pause(int spins) {
        if (spins < SPINS) {
            Thread.onSpinWait();
        } else {
            Thread.yield();
        }
        return spins + 1;
    }
}
