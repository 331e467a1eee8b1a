package dev.shmheap.ipc.fanout;

import dev.shmheap.ipc.TestHeaps;
import dev.shmheap.ipc.TestMessages;
import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class FanoutChannelTest {
    private static final int PUBLISHER_ID = 1;
    private static final long SEQUENCE_MASK = (1L << 40) - 1;
    private Path path;
    private ShmHeap heap;
    private long baseline;

    @BeforeEach
    void open() throws Exception {
        path = TestHeaps.newPath("unit");
        heap = ShmHeap.create(path, 4 << 20);
        baseline = heap.stats().usedBytes();
    }

    @AfterEach
    void close() throws Exception {
        heap.close();
        Files.deleteIfExists(path);
    }

    /** The message for the publisher's next position: a {@link TestMessages} message whose sequence is that position. */
    private long message(FanoutPublisher publisher) {
        return TestMessages.allocate(heap, PUBLISHER_ID, publisher.position());
    }

    private static boolean offer(FanoutPublisher publisher, long block) {
        return publisher.offer(block, TestMessages.length(PUBLISHER_ID, publisher.position()));
    }

    /** Reads everything ready and checks each message; returns the positions read. */
    private List<Long> drain(FanoutSubscriber subscriber) {
        List<Long> positions = new ArrayList<>();
        while (subscriber.poll((position, offset, length) -> {
            assertEquals(position, TestMessages.check(heap, offset, length) & SEQUENCE_MASK, "sequence = position");
            positions.add(position);
        }, 7) > 0) {
            // poll in small batches to exercise the release per batch
        }
        return positions;
    }

    private void assertBaseline(FanoutChannel channel) throws Exception {
        channel.destroy(Duration.ofSeconds(5));
        assertEquals(baseline, heap.stats().usedBytes(), "heap used bytes back at baseline");
        assertTrue(heap.verify().ok(), heap.verify().toString());
    }

    @Test
    void shouldDeliverEveryMessageToEverySubscriberInOrder() throws Exception {
        FanoutChannel channel = FanoutChannel.create(heap, "fan", 16);
        FanoutSubscriber a = channel.newSubscriber();
        FanoutSubscriber b = channel.newSubscriber();
        List<Long> seenA = new ArrayList<>();
        List<Long> seenB = new ArrayList<>();
        try (FanoutPublisher publisher = channel.newPublisher()) {
            for (int i = 0; i < 1000; i++) {
                assertTrue(offer(publisher, message(publisher)), "offer " + i);
                if (i % 5 == 4) {
                    seenA.addAll(drain(a));
                }
                if (i % 11 == 10) {
                    seenB.addAll(drain(b));
                }
            }
        }
        seenA.addAll(drain(a));
        seenB.addAll(drain(b));
        List<Long> expected = new ArrayList<>();
        for (long i = 0; i < 1000; i++) {
            expected.add(i);
        }
        assertEquals(expected, seenA);
        assertEquals(expected, seenB);
        assertTrue(a.endOfStream() && b.endOfStream());
        a.close();
        b.close();
        assertEquals(1000, channel.stats().freed(), "each block freed exactly once, after both passed it");
        assertBaseline(channel);
    }

    @Test
    void shouldApplyBackpressureAtCapacityBehindTheSlowestSubscriber() throws Exception {
        FanoutChannel channel = FanoutChannel.create(heap, "fan", 8);
        FanoutSubscriber fast = channel.newSubscriber();
        FanoutSubscriber slow = channel.newSubscriber();
        try (FanoutPublisher publisher = channel.newPublisher()) {
            for (int i = 0; i < 8; i++) {
                assertTrue(offer(publisher, message(publisher)));
                drain(fast);
            }
            long refused = message(publisher);
            assertFalse(offer(publisher, refused), "the ninth message is refused: slow is 8 behind");
            assertEquals(8, slow.lag());
            assertEquals(1, slow.poll((p, o, l) -> { }, 1));
            assertTrue(offer(publisher, refused), "one slot freed by the slow subscriber");
        }
        drain(fast);
        drain(slow);
        fast.close();
        slow.close();
        assertBaseline(channel);
    }

    @Test
    void shouldStartALateSubscriberAtTheCurrentTail() throws Exception {
        FanoutChannel channel = FanoutChannel.create(heap, "fan", 64);
        FanoutSubscriber early = channel.newSubscriber();
        FanoutSubscriber late;
        try (FanoutPublisher publisher = channel.newPublisher()) {
            for (int i = 0; i < 10; i++) {
                assertTrue(offer(publisher, message(publisher)));
            }
            late = channel.newSubscriber();
            assertEquals(10, late.position());
            for (int i = 0; i < 5; i++) {
                assertTrue(offer(publisher, message(publisher)));
            }
        }
        assertEquals(List.of(10L, 11L, 12L, 13L, 14L), drain(late));
        assertEquals(15, drain(early).size());
        early.close();
        late.close();
        assertBaseline(channel);
    }

    @Test
    void shouldFreeWhatALeavingSubscriberHeldBack() throws Exception {
        FanoutChannel channel = FanoutChannel.create(heap, "fan", 16);
        FanoutSubscriber stays = channel.newSubscriber();
        FanoutSubscriber leaves = channel.newSubscriber();
        try (FanoutPublisher publisher = channel.newPublisher()) {
            for (int i = 0; i < 10; i++) {
                assertTrue(offer(publisher, message(publisher)));
            }
            drain(stays);
            assertEquals(0, channel.stats().reclaimed(), "the other subscriber still holds all ten");
            leaves.close();
            assertEquals(10, channel.stats().reclaimed(), "leaving frees what only it held back");
            assertEquals(1, channel.stats().subscribers());
            assertThrows(IllegalStateException.class, () -> leaves.poll((p, o, l) -> { }, 1));
        }
        stays.close();
        assertBaseline(channel);
    }

    @Test
    void shouldFreeMessagesNobodySubscribedToWhenTheRingFills() throws Exception {
        FanoutChannel channel = FanoutChannel.create(heap, "fan", 4);
        try (FanoutPublisher publisher = channel.newPublisher()) {
            for (int i = 0; i < 100; i++) {
                assertTrue(offer(publisher, message(publisher)), "offer " + i);
            }
            assertTrue(channel.stats().tail() - channel.stats().reclaimed() <= 4);
        }
        assertBaseline(channel);
    }

    @Test
    void shouldRejectMisuseWithClearMessages() throws Exception {
        IllegalArgumentException capacity = assertThrows(IllegalArgumentException.class, () -> FanoutChannel.create(heap, "fan", 3));
        assertTrue(capacity.getMessage().contains("capacity=3"), capacity.getMessage());
        long block = heap.allocate(4096);
        heap.bind("plain", block);
        IllegalStateException notChannel = assertThrows(IllegalStateException.class,
                () -> FanoutChannel.attach(heap, "plain", Duration.ZERO));
        assertTrue(notChannel.getMessage().contains("magic=0x0"), notChannel.getMessage());
        heap.unbind("plain");
        heap.free(block);

        FanoutChannel channel = FanoutChannel.create(heap, "fan", 4);
        FanoutPublisher publisher = channel.newPublisher();
        IllegalStateException second = assertThrows(IllegalStateException.class, channel::newPublisher);
        assertTrue(second.getMessage().contains("already has a publisher"), second.getMessage());
        long small = heap.allocate(64);
        IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class, () -> publisher.offer(small, 65));
        assertTrue(tooLong.getMessage().contains("length=65"), tooLong.getMessage());
        heap.free(small);
        publisher.close();
        assertThrows(IllegalStateException.class, () -> publisher.offer(1, 1));
        assertBaseline(channel);
    }

    /** openOrCreate creates once, then attaches to the same channel (messages kept), and refuses another capacity. */
    @Test
    void shouldAttachWhereABoundChannelExistsAndCreateWhereNone() throws Exception {
        FanoutChannel first = FanoutChannel.openOrCreate(heap, "fan", 8);
        try (FanoutPublisher publisher = first.newPublisher(); FanoutSubscriber subscriber = first.newSubscriber()) {
            assertTrue(offer(publisher, message(publisher)));
            FanoutChannel again = FanoutChannel.openOrCreate(heap, "fan", 8);
            assertEquals(first.stats().tail(), again.stats().tail(), "the same channel, with its message");
            IllegalStateException other = assertThrows(IllegalStateException.class, () -> FanoutChannel.openOrCreate(heap, "fan", 16));
            assertTrue(other.getMessage().contains("capacity=8") && other.getMessage().contains("capacity=16"), other.getMessage());
            assertEquals(List.of(0L), drain(subscriber));
        }
        assertBaseline(first);
    }
}
