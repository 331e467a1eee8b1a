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
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The channel protocol within one JVM (the multi-process behaviour is in MultiProcessChannelTest). */
class ShmChannelTest {
    private CheckedTestHeap fixture;
    private Path path;
    private ShmHeap heap;

    @BeforeEach
    void setUp() throws Exception {
        fixture = CheckedTestHeap.create("channel", 8 << 20);
        path = fixture.path();
        heap = fixture.heap();
    }

    @AfterEach
    void tearDown() throws Exception {
        fixture.close();
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
        long block = heap.allocate(ChannelDescriptor.SLOTS_OFFSET + 1024);
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

    /**
     * A dead producer's table entry keeps its intent, the only record of its claim's extent,
     * until the consumer has passed that claim: a producer attaching meanwhile takes another
     * entry; afterwards the dead entry is reused and its intent cleared.
     */
    @Test
    void shouldKeepADeadProducersEntryUntilTheConsumerHasPassedItsClaim() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "takeover", 8);
        try (ShmReceiver receiver = channel.newReceiver()) {
            ShmSender doomed = channel.newSender();
            assertEquals(0, doomed.claimWithoutPublishing());
            heap.putLongRelease(channel.offset() + ChannelDescriptor.producerEntryOffset(doomed.producerIndex()), deadToken());
            try (ShmSender heir = channel.newSender()) {
                assertNotEquals(doomed.producerIndex(), heir.producerIndex(), "the dead entry is kept while its claim is outstanding");
                assertTrue(heir.offer(TestMessages.allocate(heap, 4, 0), TestMessages.length(4, 0)));
                Message m = receiver.poll(5, TimeUnit.SECONDS).orElseThrow(() -> new AssertionError("stuck at the dead claim"));
                assertEquals(4L << 40, TestMessages.check(heap, m));
                heap.free(m.offset());
            }
            assertEquals(1, channel.stats().skippedSlots());
            try (ShmSender next = channel.newSender()) {
                assertEquals(doomed.producerIndex(), next.producerIndex(), "reused once the consumer passed the claim");
                assertEquals(ChannelDescriptor.NO_INTENT, heap.getLongVolatile(channel.offset()
                        + ChannelDescriptor.intentOffset(next.producerIndex())));
            }
        }
        channel.destroy(Duration.ZERO);
    }

    /** A consumer that died after a batch: the next receiver resumes at the head it stored. */
    @Test
    void shouldResumeAtTheHeadADeadConsumerStored() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "resume", 4);
        try (ShmSender sender = channel.newSender()) {
            for (long seq = 0; seq < 2; seq++) {
                assertTrue(sender.offer(TestMessages.allocate(heap, 5, seq), TestMessages.length(5, seq)));
            }
            ShmReceiver first = channel.newReceiver();
            assertEquals(1, first.read((offset, length, inline) -> false, 1));
            heap.putLongRelease(channel.offset() + ChannelDescriptor.CONSUMER_OFFSET, deadToken()); // "died" holding the word
            try (ShmReceiver receiver = channel.newReceiver()) {
                assertEquals(1, receiver.nextPosition());
                Message m = receiver.poll().orElseThrow();
                assertEquals(5L << 40 | 1, TestMessages.check(heap, m));
                heap.free(m.offset());
            }
        }
        channel.destroy(Duration.ZERO);
    }

    /**
     * One API for both: tryClaim gives a region in the ring for a short message and a heap block
     * for a long one; the reader gets both in place, in order, and the receiver frees the blocks.
     */
    @ParameterizedTest(name = "slots of {0} B")
    @ValueSource(ints = {ChannelDescriptor.DEFAULT_SLOT_LENGTH, 80, 48, 144})
    void shouldCarryShortMessagesInlineAndLongOnesByOffsetInterleaved(int slotLength) throws Exception {
        // 80, 48 and 144 are not powers of two: packed slots whose words straddle cache lines.
        ShmChannel created = ShmChannel.create(heap, "mixed", 16, slotLength);
        ShmChannel channel = ShmChannel.attach(heap, "mixed", Duration.ZERO);
        assertEquals(slotLength, channel.slotLength());
        assertEquals(ChannelDescriptor.inlineCapacity(16, slotLength), channel.inlineCapacity());
        try (ShmSender sender = created.newSender(); ShmReceiver receiver = channel.newReceiver()) {
            ShmClaim claim = new ShmClaim();
            long previousInline = -1;
            long[] next = {0};
            long[] inlineSeen = {0};
            MessageReader check = (offset, length, inline) -> {
                assertEquals(1L << 40 | next[0], TestMessages.check(heap, offset, length));
                assertEquals(length <= channel.inlineCapacity(), inline, "message " + next[0] + " of " + length + " B");
                inlineSeen[0] += inline ? 1 : 0;
                next[0]++;
                return false;
            };
            for (long seq = 0; seq < 200; seq++) {
                int length = TestMessages.length(1, seq);
                while (!sender.tryClaim(length, claim)) {
                    assertTrue(receiver.read(check, 100) > 0, "a full ring of 16 slots has a message to read");
                }
                assertEquals(length <= channel.inlineCapacity(), claim.isInline());
                if (claim.isInline()) {
                    if (previousInline >= 0 && (claim.offset() - previousInline) % slotLength != 0) {
                        fail("inline payloads at " + previousInline + " and " + claim.offset() + " are not whole " + slotLength
                                + "-byte slots apart");
                    }
                    previousInline = claim.offset();
                }
                TestMessages.fill(heap, claim.offset(), 1, seq);
                claim.commit();
                assertFalse(claim.isActive());
                if (seq % 7 == 6) {
                    while (receiver.read(check, 3) > 0) {
                        assertTrue(next[0] <= seq + 1);
                    }
                    assertEquals(seq + 1, next[0]);
                }
            }
            while (receiver.read(check, 100) > 0) {
                // drain
            }
            assertEquals(200, next[0]);
            ChannelStats stats = channel.stats();
            long shortOnes = 0;
            for (long seq = 0; seq < 200; seq++) {
                shortOnes += TestMessages.length(1, seq) <= channel.inlineCapacity() ? 1 : 0;
            }
            assertTrue(shortOnes >= 8 && shortOnes <= 200 - 50, "both kinds are sent: " + shortOnes + " short");
            assertEquals(shortOnes, inlineSeen[0]);
            assertEquals(shortOnes, stats.inlineMessages());
            assertEquals(200 - shortOnes, stats.offsetMessages());
            assertEquals(stats.tail(), stats.head(), "every record consumed");
        }
        assertEquals(0, channel.destroy(Duration.ZERO));
    }

    /**
     * The claim's and the receiver's own accessors write and read exactly the bytes the heap's
     * accessors see, inline and by offset, and refuse any index outside the message, or use
     * outside a claim or outside {@code onMessage}.
     */
    @Test
    void shouldWriteAndReadMessagesThroughClaimAndReceiverAccessors() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "accessors", 8);
        try (ShmSender sender = channel.newSender(); ShmReceiver receiver = channel.newReceiver()) {
            ShmClaim claim = new ShmClaim();
            byte[] body = new byte[4100];
            for (int i = 0; i < body.length; i++) {
                body[i] = (byte) (i * 31 + 7);
            }
            for (int length : new int[] {16, channel.inlineCapacity(), channel.inlineCapacity() + 8, 4016}) {
                assertTrue(sender.tryClaim(length, claim));
                assertEquals(length <= channel.inlineCapacity(), claim.isInline());
                claim.putLong(0, length);
                claim.putBytes(8, body, 3, length - 16);
                claim.putLong(length - 8, ~length);
                assertEquals(~length, heap.getLong(claim.offset() + length - 8), "the heap sees what the claim wrote");
                assertEquals(length, claim.getLong(0));
                assertThrows(IndexOutOfBoundsException.class, () -> claim.putLong(length - 7, 1), "past the end");
                assertThrows(IndexOutOfBoundsException.class, () -> claim.putLong(-1, 1), "before the start");
                assertThrows(IndexOutOfBoundsException.class, () -> claim.putBytes(8, body, 0, length - 7), "past the end");
                assertThrows(IndexOutOfBoundsException.class, () -> claim.putBytes(0, body, body.length - 1, 2), "past the source");
                claim.commit();
                assertThrows(IllegalStateException.class, () -> claim.putLong(0, 1), "a committed claim");
            }
            List<Integer> seen = new ArrayList<>();
            MessageReader reader = (offset, length, inline) -> {
                assertEquals(length, receiver.getLong(0));
                assertEquals(heap.getLong(offset + 8), receiver.getLong(8), "the receiver reads what the heap reads");
                byte[] got = new byte[(int) length - 16];
                receiver.getBytes(8, got, 0, got.length);
                for (int i = 0; i < got.length; i++) {
                    assertEquals(body[3 + i], got[i], "byte " + i + " of the " + length + "-byte message");
                }
                assertEquals(~length, receiver.getLong(length - 8));
                assertThrows(IndexOutOfBoundsException.class, () -> receiver.getLong(length - 7), "past the end");
                assertThrows(IndexOutOfBoundsException.class, () -> receiver.getBytes(-1, got, 0, 1), "before the start");
                seen.add((int) length);
                return false;
            };
            assertEquals(4, receiver.read(reader, 10));
            assertEquals(List.of(16, channel.inlineCapacity(), channel.inlineCapacity() + 8, 4016), seen);
            assertThrows(IllegalStateException.class, () -> receiver.getLong(0), "outside onMessage");
        }
        assertEquals(0, channel.destroy(Duration.ZERO));
    }

    /**
     * A forwarder copies each message it reads straight into a claim on another channel (one
     * copy, inline or by offset on either side); indices outside the message or the claim, and a
     * copy outside onMessage, are refused.
     */
    @Test
    void shouldForwardAMessageFromAReceiverIntoAClaim() throws Exception {
        ShmChannel in = ShmChannel.create(heap, "in", 8);
        ShmChannel out = ShmChannel.create(heap, "out", 8, ChannelDescriptor.slotLengthFor(64));
        try (ShmSender source = in.newSender(); ShmReceiver forwarder = in.newReceiver();
             ShmSender onward = out.newSender(); ShmReceiver sink = out.newReceiver()) {
            ShmClaim claim = new ShmClaim();
            // 35 and 49 B travel inline both ways (80-byte slots out), 494 and 1280 B by offset;
            // 1280 B is above the word-by-word copy's limit.
            long[] seqs = {2, 3, 4, 9};
            for (long seq : seqs) {
                assertTrue(source.tryClaim(TestMessages.length(5, seq), claim));
                TestMessages.fill(heap, claim.offset(), 5, seq);
                claim.commit();
            }
            ShmClaim forward = new ShmClaim();
            assertEquals(seqs.length, forwarder.read((offset, length, inline) -> {
                assertTrue(onward.tryClaim(length, forward));
                assertThrows(IndexOutOfBoundsException.class, () -> forward.putBytes(0, forwarder, 1, length), "past the message");
                assertThrows(IndexOutOfBoundsException.class, () -> forward.putBytes(1, forwarder, 0, length), "past the claim");
                forward.putBytes(0, forwarder, 0, length);
                forward.commit();
                return false;
            }, 10));
            assertThrows(IllegalStateException.class, () -> {
                assertTrue(onward.tryClaim(16, forward));
                try {
                    forward.putBytes(0, forwarder, 0, 16);
                } finally {
                    forward.abort();
                }
            }, "outside onMessage");
            long[] next = {0};
            assertEquals(seqs.length, sink.read((offset, length, inline) -> {
                assertEquals(5L << 40 | seqs[(int) next[0]++], TestMessages.check(heap, offset, length));
                return false;
            }, 10));
        }
        assertEquals(0, in.destroy(Duration.ZERO));
        assertEquals(0, out.destroy(Duration.ZERO));
    }

    /** An aborted claim, inline or by offset, is passed by the consumer; the block of the latter is freed. */
    @Test
    void shouldPassAbortedClaimsAndFreeTheirBlocks() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "abort", 8);
        try (ShmSender sender = channel.newSender(); ShmReceiver receiver = channel.newReceiver()) {
            ShmClaim claim = new ShmClaim();
            long used = heap.stats().usedBytes();
            assertTrue(sender.tryClaim(channel.inlineCapacity(), claim));
            assertTrue(claim.isInline());
            claim.abort();
            assertTrue(sender.tryClaim(5000, claim));
            assertFalse(claim.isInline());
            assertTrue(heap.stats().usedBytes() > used, "a block was allocated for the long message");
            claim.abort();
            assertEquals(used, heap.stats().usedBytes(), "and freed by abort");
            assertThrows(IllegalStateException.class, claim::commit, "an aborted claim cannot be committed");
            assertTrue(sender.tryClaim(TestMessages.length(2, 0), claim));
            TestMessages.fill(heap, claim.offset(), 2, 0);
            claim.commit();
            long[] got = {-1};
            assertEquals(1, receiver.read((offset, length, inline) -> {
                got[0] = TestMessages.check(heap, offset, length);
                return false;
            }, 10));
            assertEquals(2L << 40, got[0]);
            long inlineSlots = ChannelDescriptor.recordSlots(ChannelDescriptor.INLINE, channel.inlineCapacity(), channel.slotLength());
            long messageSlots = ChannelDescriptor.recordSlots(ChannelDescriptor.INLINE, TestMessages.length(2, 0), channel.slotLength());
            assertEquals(inlineSlots + 1 + messageSlots, receiver.nextPosition(),
                    "passed: the aborted inline record's slots, the aborted offset's one, and the message's");
        }
        assertEquals(0, channel.destroy(Duration.ZERO));
    }

    /** One claim at a time per sender; closing the sender aborts a claim still active. */
    @Test
    void shouldAbortTheActiveClaimWhenTheSenderCloses() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "close-claim", 8);
        try (ShmReceiver receiver = channel.newReceiver()) {
            ShmSender sender = channel.newSender();
            ShmClaim claim = new ShmClaim();
            assertTrue(sender.tryClaim(3000, claim));
            assertThrows(IllegalStateException.class, () -> sender.tryClaim(10, new ShmClaim()), "second claim while one is active");
            assertThrows(IllegalArgumentException.class, () -> sender.tryClaim(0, new ShmClaim()), "empty");
            sender.close();
            assertFalse(claim.isActive());
            assertEquals(0, receiver.read((offset, length, inline) -> false, 10));
            assertEquals(1, receiver.nextPosition(), "the aborted claim was passed, not waited for");
        }
        channel.destroy(Duration.ZERO);
    }

    /** tryClaim says false on a full ring (inline) and on a heap with no room (by offset). */
    @Test
    void shouldRefuseAClaimWhenTheRingOrTheHeapIsFull() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "claim-full", 4);
        try (ShmSender sender = channel.newSender(); ShmReceiver receiver = channel.newReceiver()) {
            ShmClaim claim = new ShmClaim();
            for (long seq = 0; seq < 4; seq++) {
                assertTrue(sender.tryClaim(64, claim));
                heap.putLong(claim.offset(), seq);
                claim.commit();
            }
            assertFalse(sender.tryClaim(64, claim), "ring full: inline");
            assertFalse(sender.tryClaim(4096, claim), "ring full: by offset, and nothing allocated");
            assertFalse(claim.isActive());
            long[] sum = {0};
            assertEquals(4, receiver.read((offset, length, inline) -> {
                sum[0] += heap.getLong(offset);
                return false;
            }, 10));
            assertEquals(6, sum[0]);
            List<Long> hog = new ArrayList<>();
            for (long b; (b = heap.tryAllocate(1 << 20, 8)) != ShmHeap.NO_SPACE; ) {
                hog.add(b);
            }
            assertFalse(sender.tryClaim(1 << 20, claim), "heap full: no block for a long message");
            assertFalse(claim.isActive());
            hog.forEach(heap::free);
            assertTrue(sender.tryClaim(64, claim), "room again after the read");
            claim.abort();
            assertEquals(0, receiver.read((offset, length, inline) -> false, 10), "padding only");
        }
        channel.destroy(Duration.ZERO);
    }

    /** A reader may keep an offset block (it then owns it); poll() hands an inline message over as a copy in a block. */
    @Test
    void shouldLetAReaderKeepABlockAndCopyInlineMessagesForPoll() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "keep", 8);
        try (ShmSender sender = channel.newSender(); ShmReceiver receiver = channel.newReceiver()) {
            ShmClaim claim = new ShmClaim();
            for (long seq : new long[] {0, 3}) { // 22 B inline, 460 B by offset
                assertTrue(sender.tryClaim(TestMessages.length(3, seq), claim));
                TestMessages.fill(heap, claim.offset(), 3, seq);
                claim.commit();
            }
            Message inline = receiver.poll().orElseThrow();
            assertEquals(3L << 40, TestMessages.check(heap, inline));
            assertTrue(heap.usableSize(inline.offset()) >= inline.length(), "a block of its own");
            heap.free(inline.offset());
            long[] kept = {-1};
            assertEquals(1, receiver.read((offset, length, isInline) -> {
                assertFalse(isInline);
                kept[0] = offset;
                return true;
            }, 10));
            assertEquals(3L << 40 | 3, TestMessages.check(heap, kept[0], TestMessages.length(3, 3)), "not freed by the receiver");
            heap.free(kept[0]);
        }
        channel.destroy(Duration.ZERO);
    }

    /** An exclusive producer is the only one: it refuses to attach beside another, and others refuse beside it. */
    @Test
    void shouldKeepAnExclusiveProducerAlone() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "exclusive", 512); // room for 7 records of any inline length
        try (ShmReceiver receiver = channel.newReceiver()) {
            try (ShmSender shared = channel.newSender()) {
                IllegalStateException e = assertThrows(IllegalStateException.class, channel::newExclusiveSender);
                assertTrue(e.getMessage().contains("must be the only one"), e.getMessage());
                assertTrue(shared.offer(TestMessages.allocate(heap, 6, 0), TestMessages.length(6, 0)));
            }
            try (ShmSender only = channel.newExclusiveSender()) {
                assertTrue(only.isExclusive());
                IllegalStateException e = assertThrows(IllegalStateException.class, channel::newSender);
                assertTrue(e.getMessage().contains("has an exclusive producer"), e.getMessage());
                assertThrows(IllegalStateException.class, channel::newExclusiveSender);
                ShmClaim claim = new ShmClaim();
                for (long seq = 1; seq < 20; seq++) {
                    if (seq % 7 == 0) {
                        assertTrue(receiver.read((offset, length, inline) -> false, 100) > 0);
                    }
                    assertTrue(only.tryClaim(TestMessages.length(6, seq), claim), "message " + seq);
                    TestMessages.fill(heap, claim.offset(), 6, seq);
                    claim.commit();
                }
            }
            channel.newSender().close(); // shared producers may attach again
            while (receiver.read((offset, length, inline) -> false, 100) > 0) {
                // drain
            }
            assertEquals(20, channel.stats().inlineMessages() + channel.stats().offsetMessages());
        }
        channel.destroy(Duration.ZERO);
    }

    @Test
    void shouldRejectABadSlotLength() {
        for (int bad : new int[] {40, 88, 16, 0, -64, ChannelDescriptor.MAX_SLOT_LENGTH + 16}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ShmChannel.create(heap, "s", 8, bad));
            assertTrue(e.getMessage().contains("slotLength=" + bad) && e.getMessage().contains("multiple of 16"), e.getMessage());
        }
        assertTrue(heap.lookup("s").isEmpty(), "nothing is bound after a refused create");
    }

    @Test
    void shouldSizeASlotToItsMessage() throws Exception {
        assertEquals(80, ChannelDescriptor.slotLengthFor(64));
        assertEquals(32, ChannelDescriptor.slotLengthFor(1));
        assertEquals(96, ChannelDescriptor.slotLengthFor(65));
        assertEquals(ChannelDescriptor.MAX_SLOT_LENGTH, ChannelDescriptor.slotLengthFor(ChannelDescriptor.MAX_SLOT_LENGTH - 16));
        for (long bad : new long[] {0, ChannelDescriptor.MAX_SLOT_LENGTH - 15}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ChannelDescriptor.slotLengthFor(bad));
            assertTrue(e.getMessage().contains("messageLength=" + bad), e.getMessage());
        }
        ShmChannel channel = ShmChannel.create(heap, "sized", 4, ChannelDescriptor.slotLengthFor(100));
        assertEquals(100 + 12, channel.inlineCapacity(), "112-byte slots, a ring of 4: one slot per record, 100 B and 12 spare");
        channel.destroy(Duration.ZERO);
    }

    /**
     * A channel of format version 3 (one slot per message: its readers would take a record's
     * second slot for a message) is refused by attach with both magics in the message.
     */
    @Test
    void shouldRefuseAChannelOfTheEarlierFormatVersion() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "v2", 8);
        long version2 = (ChannelDescriptor.MAGIC & ~0xFFL) | 3;
        heap.putLong(channel.base() + ChannelDescriptor.MAGIC_OFFSET, version2);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ShmChannel.attach(heap, "v2", Duration.ZERO));
        assertTrue(e.getMessage().contains(Long.toHexString(version2)) && e.getMessage().contains(Long.toHexString(ChannelDescriptor.MAGIC)),
                e.getMessage());
        assertTrue(Long.toHexString(ChannelDescriptor.MAGIC).endsWith("4e04"), "format version 4");
        heap.putLong(channel.base() + ChannelDescriptor.MAGIC_OFFSET, ChannelDescriptor.MAGIC);
        channel.destroy(Duration.ZERO);
    }

    /** A slot length in the file that is not a multiple of 16 makes attach refuse the channel, naming it. */
    @Test
    void shouldRefuseToAttachAChannelWithACorruptSlotLength() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "corrupt", 8, 80);
        heap.putLong(channel.base() + ChannelDescriptor.SLOT_LENGTH_FIELD_OFFSET, 88);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ShmChannel.attach(heap, "corrupt", Duration.ZERO));
        assertTrue(e.getMessage().contains("slotLength=88") && e.getMessage().contains("multiple of 16"), e.getMessage());
        heap.putLong(channel.base() + ChannelDescriptor.SLOT_LENGTH_FIELD_OFFSET, 80);
        assertEquals(80, assertDoesNotThrow(() -> ShmChannel.attach(heap, "corrupt", Duration.ZERO)).slotLength());
        channel.destroy(Duration.ZERO);
    }

    /** A token no live process has: pid 2^31-1 is above any pid_max. */
    static long deadToken() {
        return ((long) Integer.MAX_VALUE << 32) | 12345;
    }
}
