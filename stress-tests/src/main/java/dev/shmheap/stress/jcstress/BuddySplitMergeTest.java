package dev.shmheap.stress.jcstress;

import dev.shmheap.HeapStats;
import dev.shmheap.ShmHeap;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.LLL_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Buddy split and merge under concurrent allocate and free of neighbours, in the smallest heap
 * (32 KiB: one block of order 3 when empty). Each actor allocates a buddy block, claims its pages
 * in the shadow map, marks the first word of every page, checks the marks and frees it, so the
 * two threads keep splitting the one 32 KiB block against each other, while their frees leave
 * pairs of buddies unmerged (merging is deferred) that later requests reuse or merge.
 *
 * <p>Columns: each actor's cycle ("ok"; "full" if the heap could not serve a request that fits
 * beside the other thread's block; "overlap" if a page of its block belonged to the other live
 * block; "overwritten" if a mark changed), then the arbiter's check with the heap quiescent:
 * {@code verify()} ok (the mergeable-pair count among the rest), no bytes used, and after
 * {@code trim()} (which merges every pair) all 32 KiB free as one block.
 */
public final class BuddySplitMergeTest {
    private BuddySplitMergeTest() {
    }

    static final long PAGE = 4096;
    static final long HEAP_CAPACITY = 32 << 10;

    abstract static class BuddyState {
        final SharedHeap shared;
        final long mark1 = SharedHeap.newMark();
        final long mark2 = SharedHeap.newMark();

        BuddyState(SharedHeap shared) {
            this.shared = shared;
        }

        String cycle(long size, long mark) {
            long block = shared.heap.tryAllocate(size, 8);
            if (block == ShmHeap.NO_SPACE) {
                return "full";
            }
            boolean claimed = shared.claim(block, size, PAGE, mark);
            shared.mark(block, size, PAGE, mark);
            boolean intact = shared.marked(block, size, PAGE, mark);
            if (claimed) {
                shared.unclaim(block, size, PAGE, mark);
            }
            shared.heap.free(block);
            return !claimed ? "overlap" : intact ? "ok" : "overwritten";
        }

        /** With the heap quiescent: verify ok, nothing used, and after trim everything free as one block. */
        String settle() {
            synchronized (shared.checks) {
                String verified = shared.verify();
                if (!verified.equals("ok")) {
                    return "before trim: " + verified;
                }
                shared.heap.trim();
                HeapStats stats = shared.heap.stats();
                long capacity = shared.heap.capacity();
                if (stats.buddyFreeBytes() != capacity || stats.largestFreeBlock() != capacity) {
                    return stats.buddyFreeBytes() + " bytes free, largest block " + stats.largestFreeBlock() + ", of " + capacity;
                }
                if (stats.usedBytes() != 0) {
                    return stats.usedBytes() + " bytes still used";
                }
                if (shared.claimedGranules() != 0) {
                    return shared.claimedGranules() + " pages still claimed";
                }
                return shared.verify();
            }
        }
    }

    @JCStressTest
    @State
    @Description("One thread cycles an 8 KiB block, the other a 16 KiB block: they split the same 32 KiB block into neighbours.")
    @Outcome(id = "ok, ok, ok", expect = ACCEPTABLE, desc = "no overlap; all merged back; heap consistent")
    @Outcome(expect = FORBIDDEN, desc = "overlap, a lost split or merge, or an inconsistent heap")
    public static class Neighbours extends BuddyState {
        private static final SharedHeap HEAP = SharedHeap.create("buddy-neighbours", HEAP_CAPACITY);

        public Neighbours() {
            super(HEAP);
        }

        @Actor
        public void actor1(LLL_Result r) {
            r.r1 = cycle(8 << 10, mark1);
        }

        @Actor
        public void actor2(LLL_Result r) {
            r.r2 = cycle(16 << 10, mark2);
        }

        @Arbiter
        public void arbiter(LLL_Result r) {
            r.r3 = settle();
        }
    }

    @JCStressTest
    @State
    @Description("Both threads cycle 16 KiB blocks: the two halves of the heap, split and merged by both sides.")
    @Outcome(id = "ok, ok, ok", expect = ACCEPTABLE, desc = "no overlap; all merged back; heap consistent")
    @Outcome(expect = FORBIDDEN, desc = "overlap, a lost split or merge, or an inconsistent heap")
    public static class Halves extends BuddyState {
        private static final SharedHeap HEAP = SharedHeap.create("buddy-halves", HEAP_CAPACITY);

        public Halves() {
            super(HEAP);
        }

        @Actor
        public void actor1(LLL_Result r) {
            r.r1 = cycle(16 << 10, mark1);
        }

        @Actor
        public void actor2(LLL_Result r) {
            r.r2 = cycle(16 << 10, mark2);
        }

        @Arbiter
        public void arbiter(LLL_Result r) {
            r.r3 = settle();
        }
    }

    @JCStressTest
    @State
    @Description("Both threads cycle 8 KiB blocks: often buddies of each other, freed at the same time, merged twice over.")
    @Outcome(id = "ok, ok, ok", expect = ACCEPTABLE, desc = "no overlap; all merged back; heap consistent")
    @Outcome(expect = FORBIDDEN, desc = "overlap, a lost split or merge, or an inconsistent heap")
    public static class Quarters extends BuddyState {
        private static final SharedHeap HEAP = SharedHeap.create("buddy-quarters", HEAP_CAPACITY);

        public Quarters() {
            super(HEAP);
        }

        @Actor
        public void actor1(LLL_Result r) {
            r.r1 = cycle(8 << 10, mark1);
        }

        @Actor
        public void actor2(LLL_Result r) {
            r.r2 = cycle(8 << 10, mark2);
        }

        @Arbiter
        public void arbiter(LLL_Result r) {
            r.r3 = settle();
        }
    }
}
