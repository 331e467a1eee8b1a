package dev.shmheap.stress.jcstress;

import dev.shmheap.internal.memory.MappedMemory;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;
import org.openjdk.jcstress.infra.results.ZZZ_Result;
import org.openjdk.jcstress.infra.results.ZZ_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * An occupancy word (64 blocks, bit i = block i used, as in a slab set) changed by CAS loops
 * with {@link MappedMemory#compareAndSetLong} on mapped memory: no bit set by one thread may be
 * lost to another thread's update of the same word, and no bit may be claimed twice.
 */
public final class OccupancyBitmapTest {
    private OccupancyBitmapTest() {
    }

    /** One 64-bit occupancy word in a mapped slot. */
    @State
    public static class Word {
        final MappedSlots.Slot slot = MappedSlots.take();
        final MappedMemory memory = slot.memory;
        final long word = slot.data(0);

        /** Sets {@code bit}; true if this call set it, false if it was already set. */
        boolean claim(int bit) {
            long mask = 1L << bit;
            while (true) {
                long old = memory.getLongVolatile(word);
                if ((old & mask) != 0) {
                    return false;
                }
                if (memory.compareAndSetLong(word, old, old | mask)) {
                    return true;
                }
            }
        }

        /** Clears {@code bit}; true if this call cleared it, false if it was already clear. */
        boolean release(int bit) {
            long mask = 1L << bit;
            while (true) {
                long old = memory.getLongVolatile(word);
                if ((old & mask) == 0) {
                    return false;
                }
                if (memory.compareAndSetLong(word, old, old & ~mask)) {
                    return true;
                }
            }
        }

        /** Claims the lowest clear bit, as the slab allocator picks a block; -1 if the word is full. */
        int claimLowest() {
            while (true) {
                long old = memory.getLongVolatile(word);
                if (old == -1L) {
                    return -1;
                }
                int bit = Long.numberOfTrailingZeros(~old);
                if (memory.compareAndSetLong(word, old, old | (1L << bit))) {
                    return bit;
                }
            }
        }

        long value() {
            return memory.getLongVolatile(word);
        }

        void set(long value) {
            memory.putLongVolatile(word, value);
        }

        void done() {
            MappedSlots.give(slot);
        }
    }

    @JCStressTest
    @Description("Two threads set different bits (0 and 63) of one word; the columns say whether each is set.")
    @Outcome(id = "true, true", expect = ACCEPTABLE, desc = "both bits set")
    @Outcome(expect = FORBIDDEN, desc = "a bit was lost")
    public static class DifferentBits {
        @Actor
        public void actor1(Word s) {
            s.claim(0);
        }

        @Actor
        public void actor2(Word s) {
            s.claim(63);
        }

        @Arbiter
        public void arbiter(Word s, ZZ_Result r) {
            long value = s.value();
            r.r1 = (value & 1L) != 0;
            r.r2 = (value & 1L << 63) != 0;
            s.done();
        }
    }

    @JCStressTest
    @Description("Two threads claim the same bit: exactly one may succeed.")
    @Outcome(id = {"true, false, true", "false, true, true"}, expect = ACCEPTABLE, desc = "one claimed it, the other found it taken")
    @Outcome(id = "true, true, true", expect = FORBIDDEN, desc = "both claimed the same block")
    @Outcome(expect = FORBIDDEN, desc = "nobody claimed it, or the bit is not set")
    public static class SameBit {
        @Actor
        public void actor1(Word s, ZZZ_Result r) {
            r.r1 = s.claim(17);
        }

        @Actor
        public void actor2(Word s, ZZZ_Result r) {
            r.r2 = s.claim(17);
        }

        @Arbiter
        public void arbiter(Word s, ZZZ_Result r) {
            r.r3 = s.value() == 1L << 17;
            s.done();
        }
    }

    @JCStressTest
    @Description("Word 0b1011: two threads each claim the lowest clear bit (2 and 4 are the next); third column is popcount.")
    @Outcome(id = {"2, 4, 5", "4, 2, 5"}, expect = ACCEPTABLE, desc = "each got a different block")
    @Outcome(id = {"2, 2, 4", "2, 2, 5", "4, 4, 4", "4, 4, 5"}, expect = FORBIDDEN, desc = "both got the same block")
    @Outcome(expect = FORBIDDEN, desc = "a lost bit or any other result")
    public static class LowestClearBit {
        @Actor
        public void actor1(PartlyUsed s, III_Result r) {
            r.r1 = s.claimLowest();
        }

        @Actor
        public void actor2(PartlyUsed s, III_Result r) {
            r.r2 = s.claimLowest();
        }

        @Arbiter
        public void arbiter(PartlyUsed s, III_Result r) {
            r.r3 = Long.bitCount(s.value());
            s.done();
        }
    }

    /** A word with blocks 0, 1 and 3 used. */
    @State
    public static class PartlyUsed extends Word {
        public PartlyUsed() {
            set(0b1011L);
        }
    }

    /** A word with only blocks 62 and 63 clear: the last claims fill it and touch the sign bit. */
    @State
    public static class AlmostFull extends Word {
        public AlmostFull() {
            set(~(3L << 62));
        }
    }

    @JCStressTest
    @Description("Only bits 62 and 63 clear: two threads claim the lowest clear bit; third column 1 if the word is full.")
    @Outcome(id = {"62, 63, 1", "63, 62, 1"}, expect = ACCEPTABLE, desc = "each got one of the last two blocks; the word is full")
    @Outcome(expect = FORBIDDEN, desc = "the same block twice, a lost bit, or a full word reported too early")
    public static class LastTwoBits {
        @Actor
        public void actor1(AlmostFull s, III_Result r) {
            r.r1 = s.claimLowest();
        }

        @Actor
        public void actor2(AlmostFull s, III_Result r) {
            r.r2 = s.claimLowest();
        }

        @Arbiter
        public void arbiter(AlmostFull s, III_Result r) {
            r.r3 = s.value() == -1L ? 1 : 0;
            s.done();
        }
    }

    /** A word with block 9 used. */
    @State
    public static class OneUsed extends Word {
        public OneUsed() {
            set(1L << 9);
        }
    }

    @JCStressTest
    @Description("Block 9 used: one thread frees it (clears bit 9) while another claims bit 10.")
    @Outcome(id = "true, true, true", expect = ACCEPTABLE, desc = "both changes landed: only bit 10 is set")
    @Outcome(expect = FORBIDDEN, desc = "the free or the claim was lost")
    public static class FreeWhileClaim {
        @Actor
        public void actor1(OneUsed s, ZZZ_Result r) {
            r.r1 = s.release(9);
        }

        @Actor
        public void actor2(OneUsed s, ZZZ_Result r) {
            r.r2 = s.claim(10);
        }

        @Arbiter
        public void arbiter(OneUsed s, ZZZ_Result r) {
            r.r3 = s.value() == 1L << 10;
            s.done();
        }
    }
}
