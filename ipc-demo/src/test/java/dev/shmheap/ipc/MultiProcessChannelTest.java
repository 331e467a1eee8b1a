package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

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
            // The message the dead producer had allocated is leaked (the heap records no owner);
            // it is still a live block, and the test frees it so the heap is back at its start.
            assertTrue(heap.usableSize(orphan) >= TestMessages.length(8, 5));
            heap.free(orphan);
        }
        channel.destroy(Duration.ofSeconds(10));
    }

    /**
     * Same crash, but a new producer attaches before the consumer gets there: it takes over the
     * dead producer's table entry (and clears its intent), and the consumer passes the claim.
     */
    @Test
    void shouldLetANewProducerTakeOverAKilledProducersEntry() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "heir", 16);
        Child doomed = start(path.toString(), "heir", "claim-and-halt", "8", "2");
        int doomedIndex = Integer.parseInt(doomed.awaitLine("ATTACHED ", 30).split(" ")[1]);
        long orphan = Long.parseLong(doomed.awaitLine("CLAIMED ", 30).split(" ")[2]);
        assertEquals(0, doomed.awaitExit(30));
        try (ShmReceiver receiver = channel.newReceiver(); ShmSender heir = channel.newSender()) {
            assertEquals(doomedIndex, heir.producerIndex(), "the dead producer's entry is taken over");
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
        }
        channel.destroy(Duration.ofSeconds(10));
    }
}
