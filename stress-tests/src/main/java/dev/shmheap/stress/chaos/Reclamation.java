package dev.shmheap.stress.chaos;

import dev.shmheap.HeapStats;
import dev.shmheap.ShmHeap;
import dev.shmheap.testkit.BlockPattern;

/**
 * Who gives the blocks of a dead worker back to the heap: the one part of the accounting that
 * depends on {@code --reclaim}. Unless {@link #leavesBlocksToTheHeap()}, {@link BlockAccounting}
 * reads a gone worker's ledger and offers each listed block, already checked to be a live block
 * of that usable size, to {@link #reclaim}; what is not reclaimed is expected to stay used.
 */
interface Reclamation {
    /** Reports what the coordinator finds while reclaiming; {@link BlockAccounting} counts it. */
    interface Problems {
        void patternViolation(String message);

        void workerFailure(String message);
    }

    /**
     * Offers one block of dead worker {@code workerId}'s ledger: a live block at {@code offset}
     * of {@code usable} bytes, listed with ledger entry {@code meta}. Returns true if it was freed.
     */
    boolean reclaim(int workerId, long offset, long meta, long usable);

    /**
     * The range of used bytes a dead worker may still account for after the final
     * {@code recover()}: {@code held} bytes it published, {@code reclaimed} of them freed here,
     * {@code pending} its pending word (+u while allocating a block of u usable bytes, -u while
     * freeing one). As {@code {low, high}}, never negative.
     */
    long[] leakRange(long held, long reclaimed, long pending);

    /**
     * True when the heap frees a dead worker's blocks by itself, at any moment after the death:
     * the coordinator must then not look at them (a listed block may already be free, or
     * another worker's), and {@link #reclaim} is never called.
     */
    default boolean leavesBlocksToTheHeap() {
        return false;
    }

    /** Bytes the heap itself reclaimed from dead processes, as its stats count them since creation. */
    default long reclaimedByTheHeap(HeapStats stats) {
        return 0;
    }

    static Reclamation of(ChaosConfig.Reclaim mode, ShmHeap heap, Problems problems, Runnable afterHeapCall) {
        return switch (mode) {
            case HEAP -> new Heap();
            case LEDGER -> new Ledger(heap, problems, afterHeapCall);
            case NONE -> new None();
        };
    }

    /**
     * The heap was created with {@code RECLAIM_DEAD}: it frees every block a dead worker held
     * (the control block is bound, so shared, and never reclaimed). After the final
     * {@code recover()} nothing a dead worker held may be left: the leak must be 0, kills in the
     * middle of an allocate or free included, since the heap's holder record is exact.
     */
    final class Heap implements Reclamation {
        @Override
        public boolean leavesBlocksToTheHeap() {
            return true;
        }

        @Override
        public boolean reclaim(int workerId, long offset, long meta, long usable) {
            throw new IllegalStateException("the heap reclaims the blocks of worker " + workerId + "; offset " + offset + " is not ours to free");
        }

        @Override
        public long[] leakRange(long held, long reclaimed, long pending) {
            return new long[] {0, 0};
        }

        @Override
        public long reclaimedByTheHeap(HeapStats stats) {
            return stats.reclaimedBytes();
        }
    }

    /**
     * What a dead worker may have left besides its ledger: the block of an operation in flight.
     * An allocation may have completed (+pending, not yet listed) and a free may not have (the
     * block was unlisted first); see the ledger protocol in {@link ControlBlock}.
     */
    private static long[] inFlightRange(long left, long pending) {
        return new long[] {Math.max(0, left + Math.min(0, pending)), Math.max(0, left + Math.max(0, pending))};
    }

    /** The coordinator frees each listed block, after checking that its pattern is intact (nobody wrote to it since the death). */
    final class Ledger implements Reclamation {
        private final ShmHeap heap;
        private final Problems problems;
        private final Runnable afterHeapCall;

        Ledger(ShmHeap heap, Problems problems, Runnable afterHeapCall) {
            this.heap = heap;
            this.problems = problems;
            this.afterHeapCall = afterHeapCall;
        }

        @Override
        public boolean reclaim(int workerId, long offset, long meta, long usable) {
            String problem = ControlBlock.written(meta)
                    ? BlockPattern.check(heap, offset, ControlBlock.sizeOf(meta), usable, BlockPattern.base(workerId, ControlBlock.seqOf(meta)))
                    : null;
            if (problem != null) {
                problems.patternViolation("a block of killed worker " + workerId + " was overwritten after its death: " + problem);
                return false; // someone else may hold it now: leave it
            }
            try {
                heap.free(offset);
            } catch (RuntimeException e) {
                problems.workerFailure("reclaim: free(" + offset + ") of a block of worker " + workerId + " failed: " + e);
                return false;
            } finally {
                afterHeapCall.run();
            }
            return true;
        }

        @Override
        public long[] leakRange(long held, long reclaimed, long pending) {
            return inFlightRange(held - reclaimed, pending);
        }
    }

    /** Nothing is freed: the whole of what a dead worker held stays used. */
    final class None implements Reclamation {
        @Override
        public boolean reclaim(int workerId, long offset, long meta, long usable) {
            return false;
        }

        @Override
        public long[] leakRange(long held, long reclaimed, long pending) {
            return inFlightRange(held, pending);
        }
    }
}
