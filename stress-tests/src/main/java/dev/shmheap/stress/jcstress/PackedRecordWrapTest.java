package dev.shmheap.stress.jcstress;

import dev.shmheap.ipc.MessageReader;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmClaim;
import dev.shmheap.ipc.ShmReceiver;
import dev.shmheap.ipc.ShmSender;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import java.util.concurrent.atomic.AtomicLong;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Records of several slots (channel format 4) claimed across the end of the ring, over slots
 * whose sequence words the previous lap's payload overwrote with exactly the values this lap's
 * commits store there. A ring of 16 slots of 32 bytes (records of up to 128 bytes travel
 * inline); each message is 40 bytes, a record of two slots. Each state first sends and reads
 * four records (slots 0-3, 4-7, 8-11, 12-14) whose payload words on every slot after a record's
 * first are those commit values, so head and tail stand at 15: the first claim of the test pads
 * slot 15 and takes slots 0-1, the next ones slots 2-3 and 4-5. A consumer that did not restore
 * the overwritten words would read slot 2 as committed before its producer wrote it: a
 * torn message. Producer A commits messages 1 and 2, producer B message 3 and then reads;
 * the arbiter drains the rest and checks every word of every message.
 */
public final class PackedRecordWrapTest {
    private PackedRecordWrapTest() {
    }

    static final long HEAP_CAPACITY = 256L << 20;
    static final int SLOTS = 16;
    static final int SLOT_LENGTH = 32;
    static final int MESSAGE_LENGTH = 40;
    static final int WORDS = MESSAGE_LENGTH / Long.BYTES;
    /** Set-up records: 112 bytes of message (four slots) three times, then 80 (three); tail then stands at 15. */
    static final int[] SETUP_LENGTHS = {112, 112, 112, 80};
    static final long CHECK = 0x5A5A_C3C3_0F0F_9696L;
    /** Where a record's payload starts in its first slot: after the sequence and header words. */
    static final int PAYLOAD_START = 16;
    static final int REFUSED = 100;
    private static final AtomicLong NAMES = new AtomicLong();

    /** The channel, advanced to position 7 over poisoned slots; its senders, receiver, and what was seen. */
    @State
    public static class WrapState implements MessageReader {
        static final SharedHeap HEAP = SharedHeap.create("channel-packed-wrap", HEAP_CAPACITY);
        final SharedHeap shared = HEAP;
        final ShmChannel channel;
        final ShmReceiver receiver;
        final ShmSender a;
        final ShmSender b;
        final ShmClaim claimA = new ShmClaim();
        final ShmClaim claimB = new ShmClaim();
        final int[] counts = new int[4];
        int bad;
        long lastA;
        boolean refused;
        boolean refusedB;

        public WrapState() {
            String name = "jcstress-packed-" + NAMES.incrementAndGet();
            channel = ShmChannel.create(shared.heap, name, SLOTS, SLOT_LENGTH);
            shared.heap.unbind(name);
            receiver = channel.newReceiver();
            a = channel.newSender();
            b = channel.newSender();
            poisonFirstLap();
        }

        /**
         * Sends and reads the set-up records: the payload word on the sequence word of each slot
         * after a record's first holds that slot's commit value one lap on (position + 2 x SLOTS).
         */
        private void poisonFirstLap() {
            for (int length : SETUP_LENGTHS) {
                long position = channel.stats().tail(); // the set-up records fit before the end: no padding
                if (!a.tryClaim(length, claimA)) {
                    throw new IllegalStateException("set-up claim of " + length + " bytes refused");
                }
                // slot (position + j)'s sequence word is payload word j x SLOT_LENGTH - PAYLOAD_START
                for (long j = 1, at = SLOT_LENGTH - PAYLOAD_START; at + Long.BYTES <= length; j++, at += SLOT_LENGTH) {
                    claimA.putLong(at, position + j + 2L * SLOTS);
                }
                claimA.commit();
            }
            int read = receiver.read((offset, length, inline) -> false, SLOTS);
            if (read != SETUP_LENGTHS.length || channel.stats().head() != SLOTS - 1 || channel.stats().tail() != SLOTS - 1) {
                throw new IllegalStateException("set-up left the channel at " + channel.stats());
            }
        }

        /** Sends message {@code id}: every word written, then committed; false if refused. */
        static boolean send(ShmSender sender, ShmClaim claim, long id) {
            if (!sender.tryClaim(MESSAGE_LENGTH, claim)) {
                return false;
            }
            for (int w = WORDS - 1; w >= 1; w--) {
                claim.putLong((long) w * Long.BYTES, word(id, w));
            }
            claim.putLong(0, id);
            claim.commit();
            return true;
        }

        /** Reads what is left, then detaches everything and frees the channel's block. */
        void drainAndFree() {
            while (receiver.read(this, SLOTS) > 0) {
                // keep reading
            }
            if (channel.stats().head() != channel.stats().tail()) {
                bad++; // a claim never committed
            }
            a.close();
            b.close();
            receiver.close();
            shared.heap.free(channel.offset());
        }

        @Override
        public boolean onMessage(long offset, long length, boolean inline) {
            long id = shared.heap.getLong(offset);
            boolean whole = inline && length == MESSAGE_LENGTH && id >= 1 && id < counts.length;
            for (int w = 1; whole && w < WORDS; w++) {
                whole = shared.heap.getLong(offset + (long) w * Long.BYTES) == word(id, w);
            }
            if (!whole) {
                bad++;
                return false;
            }
            if (id < 3) {
                if (id < lastA) {
                    bad++; // A's messages out of order
                }
                lastA = id;
            }
            counts[(int) id]++;
            return false;
        }

        static long word(long id, int w) {
            return CHECK ^ (id * 31 + w);
        }
    }

    @JCStressTest
    @Description("Over a poisoned first lap, producer A commits messages 1 and 2 and producer B message 3 (the first claim pads the end "
            + "of the ring), then B reads in place while A may still write.")
    @Outcome(id = "1, 1, 1, 0", expect = ACCEPTABLE, desc = "each message delivered once and whole, A's in order")
    @Outcome(id = {"0, .*", ".*, 0, .*", ".*, 0, 0"}, expect = FORBIDDEN, desc = "a committed message was lost")
    @Outcome(id = {"2, .*", ".*, 2, .*, .*", ".*, 2, .*"}, expect = FORBIDDEN, desc = "a message was delivered twice")
    @Outcome(expect = FORBIDDEN, desc = "a torn or out-of-order message (leftover payload taken for a commit), a claim refused or left open")
    public static class ClaimAcrossTheWrap {
        @Actor
        public void producerA(WrapState s) {
            s.refused |= !(WrapState.send(s.a, s.claimA, 1) & WrapState.send(s.a, s.claimA, 2));
        }

        @Actor
        public void producerBThenConsumer(WrapState s) {
            boolean sent = WrapState.send(s.b, s.claimB, 3);
            s.receiver.read(s, SLOTS);
            s.refusedB = !sent;
        }

        @Arbiter
        public void arbiter(WrapState s, IIII_Result r) {
            s.drainAndFree();
            r.r1 = s.counts[1];
            r.r2 = s.counts[2];
            r.r3 = s.counts[3];
            r.r4 = s.bad + (s.refused || s.refusedB ? REFUSED : 0);
        }
    }
}
