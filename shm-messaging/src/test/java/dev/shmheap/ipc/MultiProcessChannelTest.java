package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The channel between JVMs: producers are child JVMs (see {@link ChildMain}), the consumer is
 * this JVM, and every message block is allocated by a child and freed here.
 */
class MultiProcessChannelTest {
    private final List<Child> children = new ArrayList<>();
    private Path path;
    private ShmHeap heap;
    private long usedAtStart;

    @BeforeEach
    void setUp() throws Exception {
        path = TestHeaps.newPath("mp");
        heap = ShmHeap.create(path, 16 << 20);
        usedAtStart = heap.stats().usedBytes();
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            children.forEach(Child::close);
            assertTrue(heap.verify().ok(), () -> heap.verify().toString());
            assertEquals(usedAtStart, heap.stats().usedBytes(), "every message was freed by the consumer");
        } finally {
            heap.close();
            TestHeaps.delete(path);
        }
    }

    private Child start(String... args) throws Exception {
        Child child = Child.start(args);
        children.add(child);
        return child;
    }

    @Test
    void shouldDeliverEveryMessageOnceAndInProducerOrderFromThreeProducerJvms() throws Exception {
        int producers = 3;
        long perProducer = 3_000;
        // A small ring, so that producers also meet a full ring and each other at tail.
        ShmChannel channel = ShmChannel.create(heap, "mpsc", 64);
        try (ShmReceiver receiver = channel.newReceiver()) {
            for (int id = 1; id <= producers; id++) {
                start(path.toString(), "mpsc", "send", Integer.toString(id), Long.toString(perProducer));
            }
            Map<Long, Long> next = new HashMap<>();
            for (long received = 0; received < producers * perProducer; received++) {
                Message m = receiver.poll(30, TimeUnit.SECONDS)
                        .orElseThrow(() -> new AssertionError("no message for 30 s; received so far " + next));
                long idSeq = TestMessages.check(heap, m);
                long id = idSeq >>> 40;
                long seq = idSeq & ((1L << 40) - 1);
                long expected = next.getOrDefault(id, 0L);
                assertEquals(expected, seq, "producer " + id + ": lost (higher) or duplicated/reordered (lower)");
                next.put(id, seq + 1);
                heap.free(m.offset());
            }
            for (Child child : children) {
                child.awaitLine("DONE " + perProducer, 30);
                assertEquals(0, child.awaitExit(30), child.output());
            }
            assertEquals(Map.of(1L, perProducer, 2L, perProducer, 3L, perProducer), next);
            assertEquals(java.util.Optional.empty(), receiver.poll(), "nothing beyond the expected messages");
            ChannelStats stats = channel.stats();
            assertEquals(producers * perProducer, stats.tail());
            assertEquals(0, stats.skippedSlots());
        }
        assertEquals(0, channel.destroy(Duration.ofSeconds(10)));
    }

    @Test
    void shouldWakeAConsumerAsleepInFutexWaitFromAnotherJvm() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "wake", 16);
        try (ShmReceiver receiver = channel.newReceiver()) {
            // The child sends only once it sees the consumer's waiting word set.
            Child child = start(path.toString(), "wake", "send-when-asleep", "7");
            Message m = receiver.poll(60, TimeUnit.SECONDS).orElseThrow(() -> new AssertionError("not woken: " + child.output()));
            assertEquals(7L << 40, TestMessages.check(heap, m));
            heap.free(m.offset());
            assertEquals(1, channel.stats().inlineMessages(), "the message travelled inline");
            child.awaitLine("SENT", 30);
            assertEquals(0, child.awaitExit(30), child.output());
            ChannelStats stats = channel.stats();
            assertTrue(Futex.AVAILABLE, "futex is available on this platform");
            assertTrue(stats.futexWaits() > 0, "the consumer slept in FUTEX_WAIT: " + stats);
            assertTrue(stats.futexWakes() > 0, "the producer issued FUTEX_WAKE: " + stats);
            assertFalse(stats.consumerWaiting());
        }
        channel.destroy(Duration.ofSeconds(10));
    }

    /**
     * A producer JVM claims a slot and halts before publishing (its message block is allocated
     * and filled). The consumer receives what it sent before, finds the claim, sees the
     * producer dead, skips the slot, and receives what another producer sent afterwards.
     */
    @Test
    void shouldSkipTheSlotOfAProducerKilledBetweenClaimAndPublish() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "killed", 16);
        try (ShmReceiver receiver = channel.newReceiver(); ShmSender survivor = channel.newSender()) {
            Child doomed = start(path.toString(), "killed", "claim-and-halt", "8", "5");
            String[] claimed = doomed.awaitLine("CLAIMED ", 30).split(" ");
            assertEquals(0, doomed.awaitExit(30));
            assertEquals(5, Long.parseLong(claimed[1]), "the doomed producer claimed the position after its 5 messages");
            long orphan = Long.parseLong(claimed[2]);
            for (long seq = 0; seq < 5; seq++) {
                assertTrue(survivor.offer(TestMessages.allocate(heap, 9, seq), TestMessages.length(9, seq), 10, TimeUnit.SECONDS));
            }
            List<Long> received = new ArrayList<>();
            while (received.size() < 10) {
                Message m = receiver.poll(10, TimeUnit.SECONDS)
                        .orElseThrow(() -> new AssertionError("wedged after " + received.size() + " messages: " + channel.stats()));
                received.add(TestMessages.check(heap, m));
                heap.free(m.offset());
            }
            List<Long> expected = new ArrayList<>();
            for (long seq = 0; seq < 5; seq++) {
                expected.add(8L << 40 | seq);
            }
            for (long seq = 0; seq < 5; seq++) {
                expected.add(9L << 40 | seq);
            }
            assertEquals(expected, received);
            assertEquals(1, channel.stats().skippedSlots());
            assertEquals(11, receiver.nextPosition());
            // The message the dead producer had allocated is still held by it: this heap was created
            // without RECLAIM_DEAD, so it stays a live block (reported as the dead's), and the test
            // frees it so the heap is back at its start.
            assertTrue(heap.usableSize(orphan) >= TestMessages.length(8, 5));
            heap.free(orphan);
        }
        channel.destroy(Duration.ofSeconds(10));
    }

    /**
     * Same crash, but a new producer attaches before the consumer gets there: the dead
     * producer's entry still records its claim's extent, so the newcomer takes another entry;
     * the consumer passes the claim exactly, and then the dead entry is free to take.
     */
    @Test
    void shouldLetANewProducerTakeOverAKilledProducersEntry() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "heir", 16);
        Child doomed = start(path.toString(), "heir", "claim-and-halt", "8", "2");
        int doomedIndex = Integer.parseInt(doomed.awaitLine("ATTACHED ", 30).split(" ")[1]);
        long orphan = Long.parseLong(doomed.awaitLine("CLAIMED ", 30).split(" ")[2]);
        assertEquals(0, doomed.awaitExit(30));
        try (ShmReceiver receiver = channel.newReceiver(); ShmSender heir = channel.newSender()) {
            assertNotEquals(doomedIndex, heir.producerIndex(), "the dead producer's entry is kept while its claim is outstanding");
            assertTrue(heir.offer(TestMessages.allocate(heap, 9, 0), TestMessages.length(9, 0)));
            List<Long> received = new ArrayList<>();
            while (received.size() < 3) {
                Message m = receiver.poll(10, TimeUnit.SECONDS).orElseThrow(() -> new AssertionError("wedged: " + channel.stats()));
                received.add(TestMessages.check(heap, m));
                heap.free(m.offset());
            }
            assertEquals(List.of(8L << 40, 8L << 40 | 1, 9L << 40), received);
            assertEquals(1, channel.stats().skippedSlots());
            heap.free(orphan);
            try (ShmSender next = channel.newSender()) {
                assertEquals(doomedIndex, next.producerIndex(), "taken over once the consumer passed the claim");
            }
        }
        channel.destroy(Duration.ofSeconds(10));
    }

    /** Reads everything in place from {@code receiver} until {@code total} messages arrived, checking each and the per-producer order. */
    private static final class OrderedReader implements MessageReader {
        private final ShmHeap heap;
        final Map<Long, Long> next = new HashMap<>();
        long inline;
        long byOffset;
        long received;

        OrderedReader(ShmHeap heap) {
            this.heap = heap;
        }

        @Override
        public boolean onMessage(long offset, long length, boolean isInline) {
            long idSeq = TestMessages.check(heap, offset, length);
            long id = idSeq >>> 40;
            long seq = idSeq & ((1L << 40) - 1);
            assertEquals(next.getOrDefault(id, 0L), seq, "producer " + id + ": lost (higher) or duplicated/reordered (lower)");
            next.put(id, seq + 1);
            if (isInline) {
                inline++;
            } else {
                byOffset++;
            }
            received++;
            return false;
        }

        void readUntil(ShmReceiver receiver, long total, int batch) throws InterruptedException {
            while (received < total) {
                if (receiver.read(this, batch, 30, TimeUnit.SECONDS) == 0) {
                    throw new AssertionError("no message for 30 s; received so far " + next);
                }
            }
        }
    }

    /**
     * Three producer JVMs claim and write in place, short messages inline and long ones in
     * claimed blocks, interleaved; the consumer reads every one in place, checks all its bytes
     * and the order per producer, and the receiver frees the blocks in batches. Also over packed
     * 80-byte slots, where three processes write neighbouring slots that share cache lines.
     */
    @ParameterizedTest(name = "slots of {0} B")
    @ValueSource(ints = {ChannelDescriptor.DEFAULT_SLOT_LENGTH, 80})
    void shouldDeliverInlineAndOffsetMessagesInterleavedFromThreeProducerJvms(int slotLength) throws Exception {
        int producers = 3;
        long perProducer = 3_000;
        ShmChannel channel = ShmChannel.create(heap, "mixed", 64, slotLength);
        try (ShmReceiver receiver = channel.newReceiver()) {
            for (int id = 1; id <= producers; id++) {
                start(path.toString(), "mixed", "claim", Integer.toString(id), Long.toString(perProducer));
            }
            OrderedReader reader = new OrderedReader(heap);
            reader.readUntil(receiver, producers * perProducer, 16);
            for (Child child : children) {
                child.awaitLine("DONE " + perProducer, 30);
                assertEquals(0, child.awaitExit(30), child.output());
            }
            assertEquals(Map.of(1L, perProducer, 2L, perProducer, 3L, perProducer), reader.next);
            assertEquals(0, receiver.read(reader, 16), "nothing beyond the expected messages");
            assertTrue(reader.inline > 0 && reader.byOffset > 0, "both kinds: " + reader.inline + " inline, " + reader.byOffset + " by offset");
            ChannelStats stats = channel.stats();
            assertEquals(reader.inline, stats.inlineMessages());
            assertEquals(reader.byOffset, stats.offsetMessages());
            assertEquals(0, stats.skippedSlots());
        }
        assertEquals(0, channel.destroy(Duration.ofSeconds(10)));
    }

    /**
     * A producer JVM claims an inline slot, writes half of the message and halts before
     * committing. The consumer reads what it committed before, waits at the claim, finds no
     * live producer whose intent names it, passes it (never delivering the torn message), and
     * reads what another producer sent afterwards.
     */
    @Test
    void shouldPassTheInlineClaimOfAProducerKilledBetweenClaimAndCommit() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "killed-inline", 16);
        try (ShmReceiver receiver = channel.newReceiver(); ShmSender survivor = channel.newSender()) {
            Child doomed = start(path.toString(), "killed-inline", "claim-inline-and-halt", "8", "4");
            long claimed = Long.parseLong(doomed.awaitLine("CLAIMED ", 30).split(" ")[1]);
            long tornSlots = ChannelDescriptor.recordSlots(ChannelDescriptor.INLINE, TestMessages.length(8, 4), channel.slotLength());
            assertTrue(tornSlots > 1, "the torn record spans slots: " + tornSlots);
            assertEquals(slotsOf(8, 0, 5, channel) - tornSlots, claimed, "after 4 records of producer 8 (and any padding)");
            assertEquals(0, doomed.awaitExit(30));
            ShmClaim claim = new ShmClaim();
            for (long seq = 0; seq < 4; seq++) {
                assertTrue(survivor.tryClaim(TestMessages.length(9, seq), claim));
                TestMessages.fill(heap, claim.offset(), 9, seq);
                claim.commit();
            }
            OrderedReader reader = new OrderedReader(heap);
            reader.readUntil(receiver, 8, 4);
            assertEquals(Map.of(8L, 4L, 9L, 4L), reader.next, "the torn message was never delivered");
            assertEquals(1, channel.stats().skippedSlots());
            assertEquals(channel.stats().tail(), receiver.nextPosition(), "every slot passed, the dead claim's exactly");
        }
        channel.destroy(Duration.ofSeconds(10));
    }

    /**
     * Backpressure: a producer JVM fills a ring of 8 slots that nobody reads, is refused, and
     * says so; only then does the consumer read, and every message arrives in order.
     */
    @Test
    void shouldRefuseClaimsWhileTheRingIsFullAndDeliverEverythingOnceRead() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "backpressure", 8);
        try (ShmReceiver receiver = channel.newReceiver()) {
            Child producer = start(path.toString(), "backpressure", "until-full", "5", "500");
            long fit = 0;
            long taken = 0;
            for (long need; taken + (need = recordWithPadding(5, fit, taken, channel)) <= channel.capacity(); fit++) {
                taken += need;
            }
            assertEquals(fit, Long.parseLong(producer.awaitLine("FULL ", 30).split(" ")[1]),
                    "refused exactly when the next record did not fit in the 8 slots");
            assertEquals(taken, channel.stats().tail(), "no claim beyond one lap");
            OrderedReader reader = new OrderedReader(heap);
            reader.readUntil(receiver, 500, 3);
            long refusals = Long.parseLong(producer.awaitLine("DONE ", 30).split(" ")[1]);
            assertTrue(refusals >= 1, "refusals=" + refusals);
            assertEquals(0, producer.awaitExit(30), producer.output());
            assertEquals(Map.of(5L, 500L), reader.next);
        }
        channel.destroy(Duration.ofSeconds(10));
    }

    /** Slots that records {@code from} to {@code to} (exclusive) of producer {@code id} take from position 0 (TestMessages lengths, padding at the wrap). */
    private static long slotsOf(int id, long from, long to, ShmChannel channel) {
        long position = 0;
        for (long seq = from; seq < to; seq++) {
            position += recordWithPadding(id, seq, position, channel);
        }
        return position;
    }

    /** Slots the record of (id, seq) claims at {@code position}: its own, plus padding if it would cross the end of the ring. */
    private static long recordWithPadding(int id, long seq, long position, ShmChannel channel) {
        int length = TestMessages.length(id, seq);
        long slots = length <= channel.inlineCapacity()
                ? ChannelDescriptor.recordSlots(ChannelDescriptor.INLINE, length, channel.slotLength()) : 1;
        long index = position % channel.capacity();
        return index + slots > channel.capacity() ? channel.capacity() - index + slots : slots;
    }
}
