package dev.shmheap.stress.jcstress;

import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.slab.OwnedSet;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The lock-free protocol of an owned slab set ({@link OwnedSet}) on a head entry in mapped
 * memory: word 0 (kind, class, owner), O (occupancy), R (remote frees), A (owner's allocation
 * count), laid out as in the page map, in data words 0..3 of a {@link MappedSlots} slot. Block i
 * is live iff O_i = 1 and R_i = 0. FORBIDDEN everywhere: a block handed out while live (twice),
 * and a free that is lost (its block live again without an allocation, or left in R of an
 * unowned set with nobody to collect it).
 */
public final class OwnedSetRaceTest {
    private OwnedSetRaceTest() {
    }

    /** A one-page set of class 0, stripe 0, owned by process-table slot 0 (owner field 1). */
    static final long OWNED_HEAD = PageMapEntry.withOwner(PageMapEntry.slabWord0(PageMapEntry.SLAB, 0, 0, 0), 1);

    public abstract static class SetState {
        final MappedMemory memory;
        final MappedSlots.Slot slot = MappedSlots.take();
        final long entry = slot.data(0);
        /** The set's holder line (64 bytes, data words 4..11). */
        final long holderLine = slot.data(4);

        SetState(long occupancy, long remote) {
            memory = slot.memory;
            memory.putLong(entry + PageMapEntry.WORD0, OWNED_HEAD);
            memory.putLong(entry + PageMapEntry.WORD1, occupancy);
            memory.putLong(entry + PageMapEntry.WORD2, remote);
        }

        long occupancy() {
            return memory.getLongVolatile(entry + PageMapEntry.WORD1);
        }

        long remoteWord() {
            return memory.getLongVolatile(entry + PageMapEntry.WORD2);
        }

        long live() {
            return occupancy() & ~remoteWord();
        }

        void done() {
            MappedSlots.give(slot);
        }
    }

    @JCStressTest
    @State
    @Description("Owner allocates from a set with blocks 0..2 live while another thread frees block 1 remotely. "
            + "Columns: block the owner got; remote-free result (0 FREED); live mask afterwards.")
    @Outcome(id = "3, 0, 13", expect = ACCEPTABLE, desc = "owner got block 3; block 1 freed; blocks 0, 2, 3 live")
    @Outcome(id = "1, .*", expect = FORBIDDEN, desc = "block 1 handed out while its free was pending: handed out twice")
    @Outcome(expect = FORBIDDEN, desc = "a block handed out twice, a lost free, or a wrong mask")
    public static class OwnerAllocateVsRemoteFree extends SetState {
        int block;
        int freed;

        public OwnerAllocateVsRemoteFree() {
            super(0b0111, 0);
        }

        @Actor
        public void owner() {
            block = OwnedSet.allocate(memory, entry, holderLine, (byte) 1);
        }

        @Actor
        public void remote() {
            freed = OwnedSet.remoteFree(memory, entry, 1);
        }

        @Arbiter
        public void arbiter(III_Result r) {
            r.r1 = block;
            r.r2 = freed;
            r.r3 = (int) live();
            done();
        }
    }

    @JCStressTest
    @State
    @Description("A full set with block 7 freed remotely: the owner collects R in bulk and allocates while another "
            + "thread frees block 20 remotely. Columns: block the owner got; block 20 live afterwards (1 = lost free); "
            + "R within O afterwards (1 = yes).")
    @Outcome(id = "7, 0, 1", expect = ACCEPTABLE, desc = "owner reused block 7; block 20's free kept (collected or still in R)")
    @Outcome(id = "7, 1, .*", expect = FORBIDDEN, desc = "lost free: the collection wiped block 20's R bit")
    @Outcome(expect = FORBIDDEN, desc = "a block handed out twice, a lost free, or R outside O")
    public static class CollectVsRemoteFree extends SetState {
        int block;

        public CollectVsRemoteFree() {
            super(-1L, 1L << 7);
        }

        @Actor
        public void owner() {
            // the owner's slow path: the set looks full, so it collects, then allocates
            block = OwnedSet.allocate(memory, entry, holderLine, (byte) 1);
            if (block < 0 && OwnedSet.collect(memory, entry) != 0) {
                block = OwnedSet.allocate(memory, entry, holderLine, (byte) 1);
            }
        }

        @Actor
        public void remote() {
            OwnedSet.remoteFree(memory, entry, 20);
        }

        @Arbiter
        public void arbiter(III_Result r) {
            r.r1 = block;
            r.r2 = (live() & (1L << 20)) != 0 ? 1 : 0;
            r.r3 = (remoteWord() & ~occupancy()) == 0 && (live() | (1L << 20)) == -1L ? 1 : 0;
            done();
        }
    }

    @JCStressTest
    @State
    @Description("A dead owner's set (blocks 0..3 live) is adopted: the adopter clears the owner with a fence and "
            + "collects R, while a late freer CASes block 2 into R and then reads the owner. Columns: freer result "
            + "(0 FREED: it trusts the owner side to collect; 2 FREED_UNOWNED: it collects under the lock itself); "
            + "block 2's bit left in R after the adopter; live mask after the freer's own collection if it made one.")
    @Outcome(id = "0, 0, 11", expect = ACCEPTABLE, desc = "CAS before the adopter's read: the adopter collected it")
    @Outcome(id = "2, 0, 11", expect = ACCEPTABLE, desc = "freer saw owner 0, the adopter collected it anyway")
    @Outcome(id = "2, 1, 11", expect = ACCEPTABLE, desc = "adopter missed it, the freer saw owner 0 and collected it")
    @Outcome(id = "0, 1, .*", expect = FORBIDDEN, desc = "lost free: nobody collects the bit (the Dekker pair failed)")
    @Outcome(expect = FORBIDDEN, desc = "a lost free or a wrong mask")
    public static class AdoptionVsLateRemoteFree extends SetState {
        int freed;

        public AdoptionVsLateRemoteFree() {
            super(0b1111, 0);
        }

        @Actor
        public void adopter() {
            OwnedSet.disown(memory, entry);
            OwnedSet.collect(memory, entry);
        }

        @Actor
        public void lateFreer() {
            freed = OwnedSet.remoteFree(memory, entry, 2);
        }

        @Arbiter
        public void arbiter(III_Result r) {
            r.r1 = freed;
            r.r2 = (remoteWord() & (1L << 2)) != 0 ? 1 : 0;
            if (freed == OwnedSet.FREED_UNOWNED) {
                OwnedSet.collect(memory, entry); // what the freer does next, under the class lock
            }
            r.r3 = (int) live();
            done();
        }
    }
}
