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
import org.openjdk.jcstress.infra.results.III_Result;

import java.util.concurrent.atomic.AtomicLong;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The claim/commit protocol of ipc-demo's {@link ShmChannel} on a real heap in /dev/shm:
 * producers claim a position with a CAS on tail, write a 16-byte message inside the ring
 * (inline) and commit it with one ordered store; the consumer reads in place while they do, and
 * the arbiter drains what is left. Two actors each (the machines this runs on have two cores). A message seen before its commit has landed shows up as torn
 * (its check word does not match); one delivered twice or never shows up in the counts.
 *
 * <p>Each state has a channel of its own (4 packed slots of 48 bytes, so messages of up to 32 bytes
 * travel inline) in one {@link SharedHeap}; its name is unbound at once, because the heap's name
 * directory holds 256 names and jcstress keeps thousands of states alive. The arbiter closes the
 * state's senders and receiver and frees the channel's block.
 */
public final class ChannelClaimCommitTest {
    private ChannelClaimCommitTest() {
    }

    static final long HEAP_CAPACITY = 256L << 20;
    static final int SLOTS = 4;
    /**
     * 48, not a power of two: slots, one of which straddles two cache
     * lines, with its neighbours' words on both; 16-byte messages still travel inline.
     */
    static final int SLOT_LENGTH = 48;
    static final int MESSAGE_LENGTH = 16;
    /** XORed with the message id into the second word: a message with any other second word is torn. */
    static final long CHECK = 0x5A5A_C3C3_0F0F_9696L;
    /** r3 when a claim was refused: a ring of 4 slots must take the state's messages. */
    static final int REFUSED = 100;
    private static final AtomicLong NAMES = new AtomicLong();

    /** A channel of its own, its senders and receiver, and what the consumer has seen. */
    abstract static class ChannelState implements MessageReader {
        final SharedHeap shared;
        final ShmChannel channel;
        final ShmReceiver receiver;
        final int[] counts = new int[4];
        /** Ids below this one come from one producer and must arrive in increasing order. */
        final long orderedBelow;
        int bad;
        long lastId;

        ChannelState(SharedHeap shared, long orderedBelow) {
            this.shared = shared;
            this.orderedBelow = orderedBelow;
            String name = "jcstress-channel-" + NAMES.incrementAndGet();
            channel = ShmChannel.create(shared.heap, name, SLOTS, SLOT_LENGTH);
            shared.heap.unbind(name);
            receiver = channel.newReceiver();
        }

        /** Claims, writes the check word then the id, commits; false if refused. */
        static boolean send(SharedHeap shared, ShmSender sender, ShmClaim claim, long id) {
            if (!sender.tryClaim(MESSAGE_LENGTH, claim)) {
                return false;
            }
            shared.heap.putLong(claim.offset() + Long.BYTES, CHECK ^ id);
            shared.heap.putLong(claim.offset(), id);
            claim.commit();
            return true;
        }

        @Override
        public boolean onMessage(long offset, long length, boolean inline) {
            long id = shared.heap.getLong(offset);
            long check = shared.heap.getLong(offset + Long.BYTES);
            if (!inline || length != MESSAGE_LENGTH || id < 1 || id >= counts.length || check != (CHECK ^ id)) {
                bad++;
            } else {
                if (id < orderedBelow) {
                    if (id < lastId) {
                        bad++; // one producer's messages out of order
                    }
                    lastId = id;
                }
                counts[(int) id]++;
            }
            return false;
        }

        /** Reads what is left, then detaches everything and frees the channel's block. */
        void drainAndFree() {
            while (receiver.read(this, SLOTS) > 0) {
                // keep reading
            }
            if (channel.stats().head() != channel.stats().tail()) {
                bad++; // a claim never committed
            }
            closeSenders();
            receiver.close();
            shared.heap.free(channel.offset());
        }

        abstract void closeSenders();
    }

    @State
    public static class TwoProducers extends ChannelState {
        static final SharedHeap HEAP = SharedHeap.create("channel-two-producers", HEAP_CAPACITY);
        final ShmSender a;
        final ShmSender b;
        final ShmClaim claimA = new ShmClaim();
        final ShmClaim claimB = new ShmClaim();
        boolean refusedA;
        boolean refusedB;

        public TwoProducers() {
            super(HEAP, 3); // A sends 1 then 2; B sends 3
            a = channel.newSender();
            b = channel.newSender();
        }

        @Override
        void closeSenders() {
            a.close();
            b.close();
        }
    }

    @JCStressTest
    @Description("Producer A commits messages 1 and 2; producer B commits message 3, then reads in place while A may still write.")
    @Outcome(id = "1, 1, 1, 0", expect = ACCEPTABLE, desc = "each message delivered once and whole, A's in order")
    @Outcome(id = {"0, .*", ".*, 0, .*", ".*, 0, 0"}, expect = FORBIDDEN, desc = "a committed message was lost")
    @Outcome(id = {"2, .*", ".*, 2, .*, .*", ".*, 2, .*"}, expect = FORBIDDEN, desc = "a message was delivered twice")
    @Outcome(expect = FORBIDDEN, desc = "a torn or out-of-order message (seen before its commit landed), a claim refused or left open")
    public static class ClaimCommitRead {
        @Actor
        public void producerA(TwoProducers s) {
            s.refusedA = !(ChannelState.send(s.shared, s.a, s.claimA, 1) & ChannelState.send(s.shared, s.a, s.claimA, 2));
        }

        @Actor
        public void producerBThenConsumer(TwoProducers s) {
            s.refusedB = !ChannelState.send(s.shared, s.b, s.claimB, 3);
            s.receiver.read(s, SLOTS);
        }

        @Arbiter
        public void arbiter(TwoProducers s, IIII_Result r) {
            s.drainAndFree();
            r.r1 = s.counts[1];
            r.r2 = s.counts[2];
            r.r3 = s.counts[3];
            r.r4 = s.bad + (s.refusedA || s.refusedB ? REFUSED : 0);
        }
    }

    @State
    public static class OneProducer extends ChannelState {
        static final SharedHeap HEAP = SharedHeap.create("channel-abort", HEAP_CAPACITY);
        final ShmSender sender;
        final ShmClaim claim = new ShmClaim();
        boolean refused;

        public OneProducer() {
            super(HEAP, 4); // 1, the aborted 2, 3: all from one producer
            sender = channel.newSender();
        }

        @Override
        void closeSenders() {
            sender.close();
        }
    }

    @JCStressTest
    @Description("One producer commits message 1, aborts a claim, commits message 3, while the consumer reads in place.")
    @Outcome(id = "1, 1, 0", expect = ACCEPTABLE, desc = "1 and 3 delivered once each, in order; the aborted claim passed")
    @Outcome(id = {"0, 1, 0", "1, 0, 0", "0, 0, 0"}, expect = FORBIDDEN, desc = "a committed message was lost")
    @Outcome(id = {"2, .*", ".*, 2, .*"}, expect = FORBIDDEN, desc = "a message was delivered twice")
    @Outcome(expect = FORBIDDEN, desc = "a torn or out-of-order message, the aborted one delivered, a claim refused or left open")
    public static class ClaimAbortCommit {
        @Actor
        public void producer(OneProducer s) {
            boolean ok = ChannelState.send(s.shared, s.sender, s.claim, 1);
            if (s.sender.tryClaim(MESSAGE_LENGTH, s.claim)) {
                s.shared.heap.putLong(s.claim.offset(), 2);
                s.claim.abort();
            } else {
                ok = false;
            }
            ok &= ChannelState.send(s.shared, s.sender, s.claim, 3);
            s.refused = !ok;
        }

        @Actor
        public void consumer(OneProducer s) {
            s.receiver.read(s, SLOTS);
        }

        @Arbiter
        public void arbiter(OneProducer s, III_Result r) {
            s.drainAndFree();
            r.r1 = s.counts[1];
            r.r2 = s.counts[3];
            r.r3 = s.bad + s.counts[2] + (s.refused ? REFUSED : 0);
        }
    }
}
