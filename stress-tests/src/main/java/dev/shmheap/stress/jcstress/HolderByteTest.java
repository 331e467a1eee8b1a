package dev.shmheap.stress.jcstress;

import dev.shmheap.internal.memory.MappedMemory;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The holder bytes of the holder map (see {@code HolderMap}) in mapped memory: 64 neighbouring
 * bytes of one set, changed by a byte CAS ({@link MappedMemory#compareAndSetByte}, a CAS of the
 * 32-bit word around the byte) by transitions and reclaimers, and by plain byte stores by the
 * owner's allocations. FORBIDDEN: a lost store to a neighbouring byte, and two CAS winners on
 * one byte (a block both shared and reclaimed, or reclaimed twice).
 */
public final class HolderByteTest {
    private HolderByteTest() {
    }

    public abstract static class Line {
        final MappedSlots.Slot slot = MappedSlots.take();
        final MappedMemory memory = slot.memory;
        final long line = slot.data(0);

        void done() {
            MappedSlots.give(slot);
        }
    }

    @JCStressTest
    @State
    @Description("A reclaimer CASes byte 1 (dead holder 5 -> reclaimer 7) while the owner of the set allocates the "
            + "block of byte 2 (plain store 3). Columns: bytes 1 and 2 afterwards.")
    @Outcome(id = "7, 3", expect = ACCEPTABLE, desc = "both changes kept")
    @Outcome(expect = FORBIDDEN, desc = "the CAS lost the neighbour's plain store, or failed for it")
    public static class NeighbourBytes extends Line {
        boolean reclaimed;

        public NeighbourBytes() {
            memory.putByte(line + 1, (byte) 5);
        }

        @Actor
        public void reclaimer() {
            reclaimed = memory.compareAndSetByte(line + 1, (byte) 5, (byte) 7);
        }

        @Actor
        public void owner() {
            memory.putByteUnchecked(line + 2, (byte) 3);
        }

        @Arbiter
        public void arbiter(II_Result r) {
            r.r1 = reclaimed ? memory.getByte(line + 1) & 0xFF : -1;
            r.r2 = memory.getByte(line + 2) & 0xFF;
            done();
        }
    }

    @JCStressTest
    @State
    @Description("Two processes act on one block held by dead holder 5: a reclaimer CASes it to itself (7), a user "
            + "shares it (CAS to 0xFF). Columns: reclaimer won (1/0), sharer won (1/0).")
    @Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "reclaimed: the share finds the block no longer the dead holder's")
    @Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "shared first: the reclaimer leaves it")
    @Outcome(id = "1, 1", expect = FORBIDDEN, desc = "both won: a shared block would be freed")
    @Outcome(expect = FORBIDDEN, desc = "nobody won")
    public static class OneWinner extends Line {
        boolean reclaimed;
        boolean shared;

        public OneWinner() {
            memory.putByte(line + 9, (byte) 5);
        }

        @Actor
        public void reclaimer() {
            reclaimed = memory.compareAndSetByte(line + 9, (byte) 5, (byte) 7);
        }

        @Actor
        public void sharer() {
            shared = memory.compareAndSetByte(line + 9, (byte) 5, (byte) 0xFF);
        }

        @Arbiter
        public void arbiter(II_Result r) {
            r.r1 = reclaimed ? 1 : 0;
            r.r2 = shared ? 1 : 0;
            done();
        }
    }
}
