package dev.shmheap.stress.jcstress;

import dev.shmheap.HeapStats;
import dev.shmheap.ShmHeap;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZL_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The 64-byte slab class of a real {@link ShmHeap} under concurrent allocate and free: the class
 * lock, the set's occupancy word and the partial list must never hand out a live block twice
 * and must leave counters and page map consistent. See {@link SharedHeap} for why one heap
 * serves all states of a test and why the arbiter's checks are nevertheless exact.
 *
 * <p>Every arbiter, with the heap quiescent: the state's live blocks are live 64-byte blocks
 * ({@code usableSize}), the class's used blocks equal the blocks states hold, each block frees
 * once and a second free is rejected, the counters agree again, and {@code verify()} is ok.
 * The third column is "ok" or the first of these that failed.
 */
public final class SlabAllocationTest {
    private SlabAllocationTest() {
    }

    static final long BLOCK = 64;
    static final long HEAP_CAPACITY = 4 << 20;

    abstract static class SlabState {
        final SharedHeap shared;
        boolean collided;

        SlabState(SharedHeap shared) {
            this.shared = shared;
        }

        /** Allocates and marks a 64-byte block; -1 if the heap is full. */
        long allocate(long mark) {
            long block = shared.heap.tryAllocate(BLOCK, 8);
            if (block == ShmHeap.NO_SPACE) {
                return -1;
            }
            shared.heldBlocks.incrementAndGet();
            if (!shared.claim(block, BLOCK, BLOCK, mark)) {
                collided = true;
            }
            shared.mark(block, BLOCK, Long.BYTES, mark);
            return block;
        }

        /** Frees a block this state allocated; false if free threw. */
        boolean free(long block, long mark) {
            shared.unclaim(block, BLOCK, BLOCK, mark);
            try {
                shared.heap.free(block);
            } catch (IllegalArgumentException e) {
                return false;
            }
            shared.heldBlocks.decrementAndGet();
            return true;
        }

        boolean intact(long block, long mark) {
            return block >= 0 && shared.marked(block, BLOCK, Long.BYTES, mark);
        }

        /**
         * True if, with the heap quiescent, a block this state freed is live exactly when another
         * state holds it again (the shared heap may have handed it out since).
         */
        boolean freedAsRecorded(long block) {
            return shared.live(block, BLOCK) == shared.claimed(block, BLOCK);
        }

        /**
         * With the heap quiescent: checks that {@code live} blocks are live and {@code freed}
         * ones are live only if another state holds them again, frees the live ones, and checks
         * counters, double-free rejection and verify. Returns "ok" or the first failure.
         */
        String settle(long[] live, long[] liveMarks, long[] freed) {
            synchronized (shared.checks) {
                for (long block : live) {
                    if (block < 0) {
                        return "allocate found the heap full";
                    }
                    if (!shared.live(block, BLOCK)) {
                        return "block " + block + " is not live";
                    }
                }
                for (long block : freed) {
                    if (!freedAsRecorded(block)) {
                        return shared.claimed(block, BLOCK) ? "freed block " + block + ", held by another state now, is not live"
                                : "freed block " + block + " is still live";
                    }
                }
                String counted = countersAgree();
                if (counted != null) {
                    return counted;
                }
                for (int i = 0; i < live.length; i++) {
                    if (!free(live[i], liveMarks[i])) {
                        return "free of live block " + live[i] + " failed";
                    }
                }
                for (long block : live) {
                    if (!shared.freeRejected(block)) {
                        return "double free of " + block + " accepted";
                    }
                }
                for (long block : freed) {
                    // A block another state holds again must not be freed from here.
                    if (!shared.claimed(block, BLOCK) && !shared.freeRejected(block)) {
                        return "double free of " + block + " accepted";
                    }
                }
                counted = countersAgree();
                return counted != null ? counted : shared.verify();
            }
        }

        /** null if the heap's counters match the blocks states hold, else what differs. */
        private String countersAgree() {
            HeapStats stats = shared.heap.stats();
            long held = shared.heldBlocks.get();
            long used = stats.sizeClass((int) BLOCK).usedBlocks();
            if (used != held || stats.usedBytes() != held * BLOCK) {
                return "class 64 has " + used + " used blocks (" + stats.usedBytes() + " bytes used), states hold " + held;
            }
            return null;
        }
    }

    @JCStressTest
    @State
    @Description("Two threads allocate a 64-byte block each. Columns: no collision with any live block; both blocks kept their marks; end checks.")
    @Outcome(id = "true, true, ok", expect = ACCEPTABLE, desc = "two distinct live blocks, heap consistent")
    @Outcome(expect = FORBIDDEN, desc = "a block handed out twice, overwritten, or the heap inconsistent afterwards")
    public static class TwoAllocate extends SlabState {
        private static final SharedHeap HEAP = SharedHeap.create("slab-two-allocate", HEAP_CAPACITY);

        final long mark1 = SharedHeap.newMark();
        final long mark2 = SharedHeap.newMark();
        long block1 = -1;
        long block2 = -1;

        public TwoAllocate() {
            super(HEAP);
        }

        @Actor
        public void actor1() {
            block1 = allocate(mark1);
        }

        @Actor
        public void actor2() {
            block2 = allocate(mark2);
        }

        @Arbiter
        public void arbiter(ZZL_Result r) {
            r.r1 = !collided && block1 != block2;
            r.r2 = intact(block1, mark1) && intact(block2, mark2);
            r.r3 = settle(new long[] {block1, block2}, new long[] {mark1, mark2}, new long[0]);
        }
    }

    @JCStressTest
    @State
    @Description("A block allocated up front; one thread frees it while another allocates. Columns: the free succeeded; "
            + "the new block is the one just freed; end checks.")
    @Outcome(id = "true, false, ok", expect = ACCEPTABLE, desc = "the allocation got another block")
    @Outcome(id = "true, true, ok", expect = ACCEPTABLE, desc = "the allocation got the block that was just freed")
    @Outcome(expect = FORBIDDEN, desc = "the free failed, the new block collided or was overwritten, or the heap is inconsistent")
    public static class AllocateWhileFree extends SlabState {
        private static final SharedHeap HEAP = SharedHeap.create("slab-allocate-while-free", HEAP_CAPACITY);

        final long oldMark = SharedHeap.newMark();
        final long newMark = SharedHeap.newMark();
        final long old;
        long fresh = -1;
        boolean freed;

        public AllocateWhileFree() {
            super(HEAP);
            synchronized (HEAP.checks) {
                old = allocate(oldMark);
            }
        }

        @Actor
        public void freer() {
            freed = old >= 0 && free(old, oldMark);
        }

        @Actor
        public void allocator() {
            fresh = allocate(newMark);
        }

        @Arbiter
        public void arbiter(ZZL_Result r) {
            r.r1 = freed;
            r.r2 = fresh == old;
            if (collided || !intact(fresh, newMark)) {
                r.r3 = collided ? "the new block collided with a live block" : "the new block lost its mark";
                return;
            }
            r.r3 = settle(new long[] {fresh}, new long[] {newMark}, fresh == old ? new long[0] : new long[] {old});
        }
    }

    @JCStressTest
    @State
    @Description("Two blocks allocated up front (usually in one set); two threads free one each. Columns: both frees "
            + "succeeded; neither block is live afterwards unless another state got it since; end checks.")
    @Outcome(id = "true, true, ok", expect = ACCEPTABLE, desc = "both frees landed in the occupancy word")
    @Outcome(expect = FORBIDDEN, desc = "a free failed or was lost, or the heap is inconsistent")
    public static class TwoFree extends SlabState {
        private static final SharedHeap HEAP = SharedHeap.create("slab-two-free", HEAP_CAPACITY);

        final long mark1 = SharedHeap.newMark();
        final long mark2 = SharedHeap.newMark();
        final long block1;
        final long block2;
        boolean freed1;
        boolean freed2;

        public TwoFree() {
            super(HEAP);
            synchronized (HEAP.checks) {
                block1 = allocate(mark1);
                block2 = allocate(mark2);
            }
        }

        @Actor
        public void actor1() {
            freed1 = block1 >= 0 && free(block1, mark1);
        }

        @Actor
        public void actor2() {
            freed2 = block2 >= 0 && free(block2, mark2);
        }

        @Arbiter
        public void arbiter(ZZL_Result r) {
            r.r1 = freed1 && freed2 && !collided;
            synchronized (shared.checks) {
                r.r2 = freedAsRecorded(block1) && freedAsRecorded(block2);
            }
            r.r3 = settle(new long[0], new long[0], new long[] {block1, block2});
        }
    }
}
