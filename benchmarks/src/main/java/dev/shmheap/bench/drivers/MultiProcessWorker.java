package dev.shmheap.bench.drivers;

import dev.shmheap.ShmHeap;

import java.nio.file.Path;

/**
 * One child JVM of {@link MultiProcessDriver}: opens the heap, prepares its mix, counts itself
 * in at the start barrier (a word of a control block in the heap), then runs allocate+free
 * operations while the driver lets it (its index below the active count; else it sleeps)
 * until the driver says stop, counting the operations and the time it was active while
 * measured. After every chunk of operations it publishes its running count, which the driver
 * samples at the edges of its windows. At the end it frees everything it holds, writes its
 * figures into its slot of the control block and exits 0 (1 on any error, with the stack
 * trace on stderr).
 *
 * <p>Arguments: heap path, control block offset, worker index, mix name, seed.
 */
public final class MultiProcessWorker {
    /** Control block layout: each field on its own 128 bytes, so polling shares no line with a write. */
    static final long STATE = 0;
    /** Children with index < ACTIVE run; the others sleep. Written by the driver only, like STATE. */
    static final long ACTIVE = 8;
    static final long READY = 128;
    static final long SLOTS = 256;
    static final long SLOT_LENGTH = 128;
    static final long SLOT_OPS = 0;
    static final long SLOT_ELAPSED = 8;
    static final long SLOT_DONE = 16;
    /** 1 while the child sleeps because it is not active, 0 while it runs (the driver waits for it). */
    static final long SLOT_IDLE = 24;
    /** Operations since the start, published after every chunk, for the driver's windows. */
    static final long SLOT_COUNT = 64;
    static final int MAX_WORKERS = 32;
    static final long CONTROL_BYTES = SLOTS + SLOT_LENGTH * MAX_WORKERS;

    static final long WAIT = 0;
    static final long WARMUP = 1;
    static final long MEASURE = 2;
    static final long STOP = 3;

    /** Operations between two reads of the state word. */
    private static final int CHUNK = 64;
    /** Live blocks per process in the mixed-size mix. */
    static final int MIXED_LIVE = 16;

    private MultiProcessWorker() {
    }

    public static void main(String[] args) throws Exception {
        Path path = Path.of(args[0]);
        long control = Long.parseLong(args[1]);
        int index = Integer.parseInt(args[2]);
        MultiProcessDriver.Mix mix = MultiProcessDriver.Mix.valueOf(args[3]);
        long seed = Long.parseLong(args[4]);
        try (ShmHeap heap = ShmHeap.open(path)) {
            run(heap, control, index, mix, seed);
        }
    }

    private static void run(ShmHeap heap, long control, int index, MultiProcessDriver.Mix mix, long seed) {
        long slot = control + SLOTS + SLOT_LENGTH * index;
        Op op = switch (mix) {
            case SAME_CLASS_64 -> new PairOp(heap, 64);
            case OWN_CLASS -> new PairOp(heap, 64 << (index % 7));
            case MIXED_64B_16K -> new MixedOp(heap, seed);
        };
        // start barrier: count in, wait for the driver to start the warm-up
        while (true) {
            long ready = heap.getLongVolatile(control + READY);
            if (heap.compareAndSetLong(control + READY, ready, ready + 1)) {
                break;
            }
        }
        while (heap.getLongVolatile(control + STATE) == WAIT) {
            // sleep, not spin: the other children may still be starting on the same two cores
            java.util.concurrent.locks.LockSupport.parkNanos(200_000);
        }
        long ops = 0;
        long measuredOps = 0;
        long elapsed = 0;
        long activeSince = -1;
        long activeSinceOps = 0;
        boolean idle = false;
        long state;
        while ((state = heap.getLongVolatile(control + STATE)) != STOP) {
            boolean active = index < heap.getLongVolatile(control + ACTIVE);
            boolean measuring = active && state == MEASURE;
            if (measuring && activeSince < 0) {
                activeSince = System.nanoTime();
                activeSinceOps = ops;
            } else if (!measuring && activeSince >= 0) {
                elapsed += System.nanoTime() - activeSince;
                measuredOps += ops - activeSinceOps;
                activeSince = -1;
            }
            if (!active) {
                if (!idle) {
                    heap.putLongRelease(slot + SLOT_IDLE, 1);
                    idle = true;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(500_000);
                continue;
            }
            if (idle) {
                heap.putLongRelease(slot + SLOT_IDLE, 0);
                idle = false;
            }
            for (int i = 0; i < CHUNK; i++) {
                op.run();
            }
            ops += CHUNK;
            heap.putLongRelease(slot + SLOT_COUNT, ops);
        }
        if (activeSince >= 0) {
            elapsed += System.nanoTime() - activeSince;
            measuredOps += ops - activeSinceOps;
        }
        op.release();
        heap.putLong(slot + SLOT_OPS, measuredOps);
        heap.putLong(slot + SLOT_ELAPSED, elapsed);
        heap.putLongRelease(slot + SLOT_DONE, 1);
    }

    private interface Op {
        void run();

        void release();
    }

    /** One allocate+free pair of a fixed size. */
    private static final class PairOp implements Op {
        private final ShmHeap heap;
        private final long size;

        PairOp(ShmHeap heap, long size) {
            this.heap = heap;
            this.size = size;
        }

        @Override
        public void run() {
            heap.free(heap.allocate(size));
        }

        @Override
        public void release() {
        }
    }

    /**
     * A small live set: each operation frees the block in a random slot and allocates a new
     * one of a random size in its place (one allocate + one free). Sizes: an octave k in
     * 6..13 uniformly, then uniform in [2^k, 2^(k+1)), i.e. 64 B..16 KiB with every slab class
     * and the two smallest buddy orders equally likely by octave (3/4 slab, 1/4 buddy).
     */
    private static final class MixedOp implements Op {
        private final ShmHeap heap;
        private final long[] live = new long[MIXED_LIVE];
        private long rng;

        MixedOp(ShmHeap heap, long seed) {
            this.heap = heap;
            this.rng = seed == 0 ? 0x9E3779B97F4A7C15L : seed;
            for (int i = 0; i < live.length; i++) {
                live[i] = heap.allocate(nextSize());
            }
        }

        private long next() {
            long x = rng;
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            rng = x;
            return x;
        }

        private long nextSize() {
            long r = next();
            int octave = 6 + (int) ((r >>> 60) & 7);
            long within = (r >>> 20) & ((1L << octave) - 1);
            return (1L << octave) + within;
        }

        @Override
        public void run() {
            long r = next();
            int i = (int) ((r >>> 33) % MIXED_LIVE);
            heap.free(live[i]);
            live[i] = heap.allocate(nextSize());
        }

        @Override
        public void release() {
            for (int i = 0; i < live.length; i++) {
                heap.free(live[i]);
                live[i] = ShmHeap.NO_SPACE;
            }
        }
    }
}
