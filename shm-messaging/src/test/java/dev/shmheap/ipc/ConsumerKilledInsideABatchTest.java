package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A consumer JVM killed inside a batch of records of several slots, after it had the first two
 * and restored their slots' words but before it stored head: the consumer that takes over
 * delivers the third, intact, and not the first two again (their words are restored, so their
 * payload is no longer the message).
 */
class ConsumerKilledInsideABatchTest {
    private static final int ID = 6;
    private CheckedTestHeap fixture;
    private ShmHeap heap;

    @BeforeEach
    void setUp() throws Exception {
        fixture = CheckedTestHeap.create("consumer-killed", 8 << 20);
        heap = fixture.heap();
    }

    @AfterEach
    void tearDown() throws Exception {
        fixture.close();
    }

    @Test
    void shouldNotDeliverAgainTheRecordsADeadConsumerHadRestored() throws Exception {
        ShmChannel channel = ShmChannel.create(heap, "killed-consumer", 64);
        long[] sequences = {0, 2, 4}; // even sequences: 16..215 bytes, inline records of several 32-byte slots
        try (ShmSender sender = channel.newSender()) {
            ShmClaim claim = new ShmClaim();
            for (long seq : sequences) {
                int length = TestMessages.length(ID, seq);
                assertTrue(ChannelDescriptor.recordSlots(ChannelDescriptor.INLINE, length, channel.slotLength()) > 1, "several slots: " + length);
                assertTrue(sender.tryClaim(length, claim));
                assertTrue(claim.isInline());
                TestMessages.fill(heap, claim.offset(), ID, seq);
                claim.commit();
            }
        }
        try (Child consumer = Child.start(DeathChildMain.class, fixture.path().toString(), "killed-consumer", "read-and-halt-at", "3")) {
            consumer.awaitLine("HALT", 30);
            consumer.awaitExit(30);
            assertTrue(consumer.output().contains("READ 6/0") && consumer.output().contains("READ 6/2"), consumer.output());
        }
        assertEquals(0, channel.stats().head(), "the dead consumer stored no head");
        List<Long> delivered = new ArrayList<>();
        try (ShmReceiver successor = channel.newReceiver()) {
            while (successor.read((offset, length, inline) -> {
                delivered.add(TestMessages.check(heap, offset, length)); // every byte of the message
                return false;
            }, 64) > 0) {
                // drain
            }
            assertEquals(channel.stats().tail(), successor.nextPosition());
        }
        assertEquals(List.of((long) ID << 40 | 4), delivered, "only the record the dead consumer never had");
        assertEquals(0, channel.destroy(Duration.ofSeconds(10)));
    }
}
