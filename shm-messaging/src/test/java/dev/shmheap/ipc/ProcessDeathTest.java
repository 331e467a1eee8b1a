package dev.shmheap.ipc;

import dev.shmheap.CreateOption;
import dev.shmheap.ProcessHoldings;
import dev.shmheap.RecoveryReport;
import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Producers and consumers killed with SIGKILL while they hold message blocks, in a heap created
 * with RECLAIM_DEAD: after recovery the heap is back at its baseline (the channel's ring, which
 * its name shares), and the channel goes on working.
 */
class ProcessDeathTest {
    private static final int MESSAGES = 6;
    private Path path;
    private ShmHeap heap;
    private ShmChannel channel;
    private long baseline;
    private Child child;

    @BeforeEach
    void setUp() throws Exception {
        path = TestHeaps.newPath("death");
        heap = ShmHeap.create(path, 16 << 20, CreateOption.RECLAIM_DEAD);
        channel = ShmChannel.create(heap, "death", 64);
        baseline = heap.stats().usedBytes();
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            if (child != null) {
                child.close();
            }
            channel.destroy(Duration.ofSeconds(10));
            assertTrue(heap.verify().ok(), () -> heap.verify().toString());
        } finally {
            heap.close();
            TestHeaps.delete(path);
        }
    }

    private long heldBy(long pid) {
        return heap.holdings().processes().stream().filter(p -> p.pid() == pid).mapToLong(ProcessHoldings::bytes).sum();
    }

    /** The channel still carries a message by offset from this process to itself. */
    private void assertChannelWorks() throws Exception {
        try (ShmSender sender = channel.newSender(); ShmReceiver receiver = channel.newReceiver()) {
            long block = TestMessages.allocate(heap, 3, 1); // odd seq: a long message, by offset
            assertTrue(sender.offer(block, TestMessages.length(3, 1), 10, TimeUnit.SECONDS));
            Message m = receiver.poll(10, TimeUnit.SECONDS).orElseThrow(() -> new AssertionError("the channel is wedged"));
            assertEquals(3L << 40 | 1, TestMessages.check(heap, m));
            heap.free(m.offset());
        }
        assertEquals(baseline, heap.stats().usedBytes());
    }

    @Test
    void aProducerKilledAfterAllocatingBeforeOfferingLosesNothing() throws Exception {
        child = Child.start(DeathChildMain.class, path.toString(), "death", "allocate-and-halt", String.valueOf(MESSAGES));
        child.awaitLine("HELD " + MESSAGES, 60);
        long pid = child.pid();
        assertTrue(heldBy(pid) > 0, "the producer holds its blocks: " + heap.holdings());
        long used = heap.stats().usedBytes();
        child.kill();
        RecoveryReport report = heap.recover();
        assertEquals(MESSAGES, report.reclaimedBlocks(), report.toString());
        assertEquals(used - baseline, report.reclaimedBytes());
        assertEquals(baseline, heap.stats().usedBytes(), "back at the baseline");
        assertEquals(0, heldBy(pid));
        assertChannelWorks();
    }

    @Test
    void aConsumerKilledWhileHoldingReceivedMessagesLosesNothing() throws Exception {
        try (ShmSender sender = channel.newSender()) {
            for (long seq = 0; seq < MESSAGES; seq++) {
                long seqLong = 2 * seq + 1; // odd: long messages, by offset
                long block = TestMessages.allocate(heap, 5, seqLong);
                assertTrue(sender.offer(block, TestMessages.length(5, seqLong), 10, TimeUnit.SECONDS));
            }
        }
        assertEquals(MESSAGES, heap.holdings().handedOffBlocks(), "in flight: no process holds them");
        child = Child.start(DeathChildMain.class, path.toString(), "death", "receive-and-hold", String.valueOf(MESSAGES));
        String[] holding = child.awaitLine("HOLDING ", 60).split(" ");
        long pid = child.pid();
        assertEquals(MESSAGES + 2, holding.length);
        long held = 0;
        for (int i = 2; i < holding.length; i++) {
            held += heap.usableSize(Long.parseLong(holding[i]));
        }
        assertEquals(held, heldBy(pid), "the consumer took every block over: " + heap.holdings());
        assertEquals(0, heap.holdings().handedOffBlocks());
        child.kill();
        RecoveryReport report = heap.recover();
        assertEquals(MESSAGES, report.reclaimedBlocks(), report.toString());
        assertEquals(held, report.reclaimedBytes());
        assertEquals(baseline, heap.stats().usedBytes(), "back at the baseline");
        assertChannelWorks();
    }

    @Test
    void aConsumerKilledHoldingBlocksItKeptFromAnInPlaceReadAndTookOverLosesNothing() throws Exception {
        try (ShmSender sender = channel.newSender()) {
            for (long seq = 1; seq < 2L * MESSAGES; seq += 2) { // odd: long messages, by offset
                long block = TestMessages.allocate(heap, 5, seq);
                assertTrue(sender.offer(block, TestMessages.length(5, seq), 10, TimeUnit.SECONDS));
            }
        }
        child = Child.start(DeathChildMain.class, path.toString(), "death", "read-and-keep", String.valueOf(MESSAGES));
        child.awaitLine("KEPT " + MESSAGES, 60);
        assertEquals(0, heap.holdings().handedOffBlocks(), "the reader kept every block and took it over: its process holds them");
        assertTrue(heldBy(child.pid()) > 0);
        child.kill();
        RecoveryReport report = heap.recover();
        assertEquals(MESSAGES, report.reclaimedBlocks(), report.toString());
        assertEquals(baseline, heap.stats().usedBytes(), "back at the baseline");
        assertChannelWorks();
    }

    @Test
    void messagesInFlightOutliveTheirKilledProducer() throws Exception {
        child = Child.start(DeathChildMain.class, path.toString(), "death", "offer-and-halt", String.valueOf(MESSAGES));
        child.awaitLine("OFFERED " + MESSAGES, 60);
        child.kill();
        RecoveryReport report = heap.recover();
        assertEquals(0, report.reclaimedBlocks(), "handed-off blocks are never reclaimed: " + report);
        try (ShmReceiver receiver = channel.newReceiver()) {
            for (long seq = 1; seq < 2L * MESSAGES; seq += 2) {
                Message m = receiver.poll(10, TimeUnit.SECONDS).orElseThrow(() -> new AssertionError("a message was lost"));
                assertEquals(4L << 40 | seq, TestMessages.check(heap, m), "the message survived its producer intact");
                heap.free(m.offset());
            }
        }
        assertEquals(baseline, heap.stats().usedBytes());
    }
}
