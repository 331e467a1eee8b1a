package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static dev.shmheap.ipc.ChannelDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Records of several slots (channel format 4): a record's payload overwrites the sequence words
 * of the slots after its first, a record that would cross the end of the ring is preceded by
 * padding, and the consumer restores the overwritten words, so that leftover payload is never
 * taken for a commit on a later lap.
 */
class PackedRecordsTest {
    private static final int SLOTS = 8;
    private static final int SLOT = 32;
    private static final int WRAP_SLOTS = 16;
    /** A 40-byte message: a 56-byte record, two 32-byte slots; its payload word 16 lies on the second slot's sequence word. */
    private static final int MESSAGE = 40;
    private static final int WORDS = MESSAGE / Long.BYTES;
    private static final int SECOND_SLOT_WORD = (SLOT - SLOT_PAYLOAD_OFFSET) / Long.BYTES;

    private CheckedTestHeap fixture;
    private ShmHeap heap;

    @BeforeEach
    void setUp() throws Exception {
        fixture = CheckedTestHeap.create("packed", 8 << 20);
        heap = fixture.heap();
    }

    @AfterEach
    void tearDown() throws Exception {
        fixture.close();
    }

    /**
     * Every record's payload word on its second slot holds exactly the value that slot's
     * sequence word takes when the next lap's record starting there is committed; a one-slot
     * message now and then shifts the records so that later claims start on such slots. Each
     * claim is read before it is committed: nothing may be delivered. Had the consumer not
     * restored the overwritten words, it would take the leftover payload for a commit.
     */
    @Test
    void shouldNeverTakeLeftoverPayloadForACommit() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "poison", SLOTS, SLOT);
        try (ShmSender sender = channel.newSender(); ShmReceiver receiver = channel.newReceiver()) {
            ShmClaim claim = new ShmClaim();
            Set<Long> poisoned = new HashSet<>();
            long[] poison = new long[41];
            int claimsOnPoison = 0;
            MessageReader reader = (offset, length, inline) -> {
                long id = receiver.getLong(0);
                if (length == MESSAGE) {
                    for (int w = 1; w < WORDS; w++) {
                        assertEquals(w == SECOND_SLOT_WORD ? poison[(int) id] : word(id, w), receiver.getLong(w * Long.BYTES), "word " + w);
                    }
                }
                return false;
            };
            for (long id = 1; id <= 40; id++) {
                if (id % 5 == 0) { // a one-slot message: the next records start one slot later
                    assertTrue(sender.tryClaim(Long.BYTES, claim));
                    claim.putLong(0, -id);
                    claim.commit();
                    assertEquals(1, receiver.read(reader, SLOTS));
                }
                assertTrue(sender.tryClaim(MESSAGE, claim), "message " + id);
                claimsOnPoison += poisoned.contains(claim.position()) ? 1 : 0;
                assertEquals(0, receiver.read(reader, SLOTS), "message " + id + " read before its commit, at " + claim.position());
                long second = claim.position() + 1;
                poison[(int) id] = second + 2L * SLOTS; // that slot's commit value one lap on
                poisoned.add(second + SLOTS);
                for (int w = 0; w < WORDS; w++) {
                    claim.putLong(w * Long.BYTES, w == 0 ? id : w == SECOND_SLOT_WORD ? poison[(int) id] : word(id, w));
                }
                claim.commit();
                assertEquals(1, receiver.read(reader, SLOTS), "message " + id);
            }
            assertTrue(claimsOnPoison >= 5, "claims that started on a slot whose word was leftover payload: " + claimsOnPoison);
            assertEquals(channel.stats().tail(), receiver.nextPosition());
        }
        assertEquals(0, channel.destroy(Duration.ZERO));
    }

    /** A record that would cross the end of the ring starts at slot 0 after padding; both ends of every message arrive intact. */
    @Test
    void shouldPadAtTheWrapAndDeliverEveryRecordWhole() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "wrap", WRAP_SLOTS, SLOT);
        assertEquals(112, channel.inlineCapacity(), "records of up to 4 slots, a quarter of the ring");
        try (ShmSender sender = channel.newSender(); ShmReceiver receiver = channel.newReceiver()) {
            ShmClaim claim = new ShmClaim();
            long[] next = {1};
            MessageReader reader = (offset, length, inline) -> {
                long id = receiver.getLong(0);
                assertEquals(next[0]++, id);
                assertEquals(~id, receiver.getLong(length - Long.BYTES), "the last word of message " + id);
                return false;
            };
            long paddings = 0;
            for (long id = 1; id <= 60; id++) {
                int length = 16 + (int) (id % 5) * 24; // 16 to 112 bytes: 1 to 4 slots
                long before = channel.stats().tail();
                assertTrue(sender.tryClaim(length, claim), "message " + id);
                paddings += claim.position() != before ? 1 : 0;
                assertTrue(claim.isInline());
                assertTrue(claim.position() % WRAP_SLOTS + recordSlots(INLINE, length, SLOT) <= WRAP_SLOTS, "never crosses the end");
                claim.putLong(0, id);
                claim.putLong(length - Long.BYTES, ~id);
                claim.commit();
                if (id % 2 == 0) {
                    while (receiver.read(reader, WRAP_SLOTS) > 0) {
                        // drain
                    }
                }
            }
            while (receiver.read(reader, WRAP_SLOTS) > 0) {
                // drain
            }
            assertEquals(61, next[0]);
            assertTrue(paddings > 0, "some records were padded to the next lap");
        }
        assertEquals(0, channel.destroy(Duration.ZERO));
    }

    /**
     * A producer that died right after its tail CAS, its claim a record of three slots preceded
     * by padding at the end of the ring, neither committed: the consumer passes exactly the
     * claim's extent, in two steps (the padding up to the end, then the record), and delivers
     * what a live producer sent before and after it.
     */
    @Test
    void shouldPassADeadClaimAcrossTheWrapExactly() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "dead-wrap", WRAP_SLOTS, SLOT);
        try (ShmSender live = channel.newSender(); ShmReceiver receiver = channel.newReceiver()) {
            ShmSender doomed = channel.newSender();
            ShmClaim claim = new ShmClaim();
            List<Long> seen = new ArrayList<>();
            MessageReader reader = (offset, length, inline) -> {
                seen.add(receiver.getLong(0));
                assertEquals(~receiver.getLong(0), receiver.getLong(length - Long.BYTES));
                return false;
            };
            for (long id = 1; id <= 7; id++) { // 7 records of two slots: tail at 14
                send(live, claim, id, 40);
            }
            assertEquals(7, receiver.read(reader, WRAP_SLOTS));
            long record = doomed.claimWithoutPublishing(3); // slots 14-15 padding, the record at 16-18
            assertEquals(16, record);
            heap.putLongRelease(channel.offset() + ChannelDescriptor.producerEntryOffset(doomed.producerIndex()),
                    ShmChannelTest.deadToken());
            send(live, claim, 8, 40); // at 19-20
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (seen.size() < 8 && System.nanoTime() < deadline) {
                receiver.read(reader, WRAP_SLOTS, 10, java.util.concurrent.TimeUnit.MILLISECONDS);
            }
            assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L), seen, "the dead claim passed, nothing else");
            assertEquals(21, receiver.nextPosition(), "the padding (2 slots), the dead record (3) and message 8 (2) passed");
            assertEquals(2, channel.stats().skippedSlots(), "two skips: up to the end of the ring, then the record");
            heap.putLongRelease(channel.offset() + ChannelDescriptor.producerEntryOffset(doomed.producerIndex()), 0);
        }
        assertEquals(0, channel.destroy(Duration.ZERO));
    }

    private static void send(ShmSender sender, ShmClaim claim, long id, int length) {
        assertTrue(sender.tryClaim(length, claim), "message " + id);
        claim.putLong(0, id);
        claim.putLong(length - Long.BYTES, ~id);
        claim.commit();
    }

    private static long word(long id, int w) {
        return id * 0x9E37_79B9_7F4A_7C15L + w;
    }
}
