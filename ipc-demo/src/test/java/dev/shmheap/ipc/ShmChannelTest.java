package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The channel protocol within one JVM (the multi-process behaviour is in MultiProcessChannelTest). */
class ShmChannelTest {
    private Path path;
    private ShmHeap heap;
    private long usedAtStart;

    @BeforeEach
    void setUp() throws Exception {
        path = TestHeaps.newPath("channel");
        heap = ShmHeap.create(path, 8 << 20);
        usedAtStart = heap.stats().usedBytes();
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            assertTrue(heap.verify().ok(), () -> heap.verify().toString());
            assertEquals(usedAtStart, heap.stats().usedBytes(), "every message and the channel were freed");
        } finally {
            heap.close();
            TestHeaps.delete(path);
        }
    }

    @Test
    void shouldDeliverInOrderAcrossManyLapsOfASmallRing() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "laps", 4);
        try (ShmSender sender = channel.newSender(); ShmReceiver receiver = channel.newReceiver()) {
            long next = 0;
            for (long seq = 0; seq < 100; seq++) {
                assertTrue(sender.offer(TestMessages.allocate(heap, 1, seq), TestMessages.length(1, seq)));
                if (seq % 3 == 2) {
                    next = drain(receiver, next);
                }
            }
            next = drain(receiver, next);
            assertEquals(100, next);
            assertEquals(100, channel.stats().tail());
            assertEquals(100, channel.stats().head());
        }
        assertEquals(0, channel.destroy(Duration.ZERO));
    }

    private long drain(ShmReceiver receiver, long next) {
        for (Optional<Message> m; (m = receiver.poll()).isPresent(); next++) {
            assertEquals(1L << 40 | next, TestMessages.check(heap, m.get()));
            heap.free(m.get().offset());
        }
        return next;
    }

    @Test
    void shouldHandOverBatchesInOrderThroughTheHandlerPoll() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "batches", 8);
        try (ShmSender sender = channel.newSender(); ShmReceiver receiver = channel.newReceiver()) {
            long[] next = {0};
            MessageHandler check = (offset, length) -> {
                assertEquals(1L << 40 | next[0]++, TestMessages.check(heap, new Message(offset, length)));
                heap.free(offset);
            };
            for (long seq = 0; seq < 100; seq++) {
                long block = TestMessages.allocate(heap, 1, seq);
                assertTrue(sender.offerTrusted(block, TestMessages.length(1, seq)));
                if (seq % 5 == 4) {
                    assertEquals(3, receiver.poll(check, 3), "at most the limit");
                    assertEquals(2, receiver.poll(check, 100), "then the rest");
                    assertEquals(0, receiver.poll(check, 100));
                    assertEquals(seq + 1, channel.stats().head(), "head is published after each poll");
                }
            }
            assertEquals(100, next[0]);
            long block = heap.allocate(64);
            assertThrows(IllegalArgumentException.class, () -> sender.offerTrusted(block, 0), "empty");
            heap.free(block);
        }
        assertEquals(0, channel.destroy(Duration.ZERO));
    }

    @Test
    void shouldReturnFalseWhenTheRingIsFullAndAcceptAgainAfterAPoll() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "full", 4);
        try (ShmSender sender = channel.newSender(); ShmReceiver receiver = channel.newReceiver()) {
            for (long seq = 0; seq < 4; seq++) {
                assertTrue(sender.offer(TestMessages.allocate(heap, 1, seq), TestMessages.length(1, seq)));
            }
            long extra = TestMessages.allocate(heap, 1, 4);
            assertFalse(sender.offer(extra, TestMessages.length(1, 4)), "a full ring refuses");
            assertFalse(sender.offer(extra, TestMessages.length(1, 4), 20, TimeUnit.MILLISECONDS), "the timed offer times out");
            assertEquals(4, channel.stats().depth());

            Message first = receiver.poll().orElseThrow();
            heap.free(first.offset());
            assertTrue(sender.offer(extra, TestMessages.length(1, 4)), "one slot freed, one accepted");
            assertEquals(4, drain(receiver, 1) - 1);
        }
        channel.destroy(Duration.ZERO);
    }

    @Test
    void shouldTimeOutAPollOnAnEmptyChannel() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "empty", 8);
        try (ShmReceiver receiver = channel.newReceiver()) {
            assertEquals(Optional.empty(), receiver.poll());
            assertEquals(Optional.empty(), receiver.poll(20, TimeUnit.MILLISECONDS));
            assertFalse(channel.consumerWaiting(), "a consumer that returned is not marked asleep");
        }
        channel.destroy(Duration.ZERO);
    }

    @Test
    void shouldAllowOneLiveConsumerOnly() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "one-consumer", 8);
        ShmChannel again = ShmChannel.attach(heap, "one-consumer", Duration.ZERO);
        try (ShmReceiver receiver = channel.newReceiver()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, again::newReceiver);
            assertTrue(e.getMessage().contains("already has a consumer"), e.getMessage());
        }
        again.newReceiver().close();
        channel.destroy(Duration.ZERO);
    }

    @Test
    void shouldRejectAnOfferThatIsNotALiveBlockOrIsLongerThanIt() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "reject", 8);
        try (ShmSender sender = channel.newSender()) {
            long block = heap.allocate(100);
            assertThrows(IllegalArgumentException.class, () -> sender.offer(block + 8, 8), "interior offset");
            assertThrows(IllegalArgumentException.class, () -> sender.offer(block, heap.usableSize(block) + 1), "too long");
            assertThrows(IllegalArgumentException.class, () -> sender.offer(block, 0), "empty");
            heap.free(block);
            assertThrows(IllegalArgumentException.class, () -> sender.offer(block, 8), "freed block");
            assertEquals(0, channel.stats().tail(), "nothing was claimed");
        }
        channel.destroy(Duration.ZERO);
    }

    @Test
    void shouldRefuseToAttachToABlockThatIsNotAChannel() throws Exception {
        long block = heap.allocate(2048);
        heap.putLong(block, 0x1234);
        heap.bind("not-a-channel", block);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> ShmChannel.attach(heap, "not-a-channel", Duration.ZERO));
        assertTrue(e.getMessage().contains("magic=0x1234"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> ShmChannel.attach(heap, "missing", Duration.ofMillis(20)));
        heap.unbind("not-a-channel");
        heap.free(block);
    }

    @Test
    void shouldRejectABadCapacityAndATakenName() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> ShmChannel.create(heap, "c", 3));
        assertThrows(IllegalArgumentException.class, () -> ShmChannel.create(heap, "c", 1));
        ShmChannel channel = ShmChannel.create(heap, "c", 2);
        assertThrows(IllegalStateException.class, () -> ShmChannel.create(heap, "c", 2));
        channel.destroy(Duration.ZERO);
    }

    @Test
    void shouldFreeUndeliveredMessagesWhenDestroyed() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "leftovers", 8);
        try (ShmSender sender = channel.newSender()) {
            for (long seq = 0; seq < 5; seq++) {
                assertTrue(sender.offer(TestMessages.allocate(heap, 2, seq), TestMessages.length(2, seq)));
            }
        }
        assertEquals(5, channel.destroy(Duration.ZERO));
    }

    @Test
    void shouldRefuseToDestroyWhileAProducerIsAttached() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "busy", 8);
        try (ShmSender sender = channel.newSender()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> channel.destroy(Duration.ofMillis(10)));
            assertTrue(e.getMessage().contains("producer pid " + ProcessHandle.current().pid()), e.getMessage());
        }
        channel.destroy(Duration.ZERO);
    }

    /**
     * A claim in the name of a producer-table entry that holds a dead process's token (written
     * by hand here; MultiProcessChannelTest kills a real process) is skipped after the
     * liveness check; later messages still arrive.
     */
    @Test
    void shouldSkipASlotClaimedByADeadProducer() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "dead-claim", 8);
        try (ShmReceiver receiver = channel.newReceiver(); ShmSender live = channel.newSender()) {
            ShmSender doomed = channel.newSender();
            assertEquals(0, doomed.claimWithoutPublishing());
            long entry = channel.offset() + ChannelDescriptor.producerEntryOffset(doomed.producerIndex());
            heap.putLongRelease(entry, deadToken());
            for (long seq = 0; seq < 3; seq++) {
                assertTrue(live.offer(TestMessages.allocate(heap, 3, seq), TestMessages.length(3, seq)));
            }
            List<Long> received = new ArrayList<>();
            while (received.size() < 3) {
                Message m = receiver.poll(5, TimeUnit.SECONDS).orElseThrow(() -> new AssertionError("stuck at the dead claim"));
                received.add(TestMessages.check(heap, m));
                heap.free(m.offset());
            }
            assertEquals(List.of(3L << 40, 3L << 40 | 1, 3L << 40 | 2), received);
            assertEquals(1, channel.stats().skippedSlots());
            heap.putLongRelease(entry, 0);
        }
        channel.destroy(Duration.ZERO);
    }

    /** Taking over a dead producer's table entry marks its claim abandoned: skipped without waiting. */
    @Test
    void shouldAbandonTheClaimsOfADeadProducerWhoseEntryIsTakenOver() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "takeover", 8);
        try (ShmReceiver receiver = channel.newReceiver()) {
            ShmSender doomed = channel.newSender();
            assertEquals(0, doomed.claimWithoutPublishing());
            heap.putLongRelease(channel.offset() + ChannelDescriptor.producerEntryOffset(doomed.producerIndex()), deadToken());
            try (ShmSender heir = channel.newSender()) {
                assertEquals(doomed.producerIndex(), heir.producerIndex(), "the dead entry is reused");
                long slot = channel.offset() + ChannelDescriptor.slotOffset(0, 8);
                assertTrue(ChannelDescriptor.isAbandoned(heap.getLongVolatile(slot)));
                assertTrue(heir.offer(TestMessages.allocate(heap, 4, 0), TestMessages.length(4, 0)));
                Message m = receiver.poll().orElseThrow(() -> new AssertionError("an abandoned claim is passed at once"));
                assertEquals(4L << 40, TestMessages.check(heap, m));
                heap.free(m.offset());
            }
            assertEquals(1, channel.stats().skippedSlots());
        }
        channel.destroy(Duration.ZERO);
    }

    /** A consumer killed between freeing a slot and storing head: the next receiver skips the freed slot. */
    @Test
    void shouldResumeAfterAConsumerThatDiedBeforeStoringHead() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "resume", 4);
        try (ShmSender sender = channel.newSender()) {
            for (long seq = 0; seq < 2; seq++) {
                assertTrue(sender.offer(TestMessages.allocate(heap, 5, seq), TestMessages.length(5, seq)));
            }
            long slot = channel.offset() + ChannelDescriptor.slotOffset(0, 4);
            long taken = heap.getLong(slot + ChannelDescriptor.SLOT_MESSAGE_OFFSET);
            heap.putLongRelease(slot, 4); // consumed position 0, then "died": head still 0
            heap.free(taken);
            heap.putLongRelease(channel.offset() + ChannelDescriptor.CONSUMER_OFFSET, deadToken());
            try (ShmReceiver receiver = channel.newReceiver()) {
                assertEquals(1, receiver.nextPosition());
                Message m = receiver.poll().orElseThrow();
                assertEquals(5L << 40 | 1, TestMessages.check(heap, m));
                heap.free(m.offset());
            }
        }
        channel.destroy(Duration.ZERO);
    }

    /** A token no live process has: pid 2^31-1 is above any pid_max. */
    private static long deadToken() {
        return ((long) Integer.MAX_VALUE << 32) | 12345;
    }
}
