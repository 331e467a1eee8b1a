package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@link ShmChannel#openOrCreate}: a program rerun after one that left its channel bound gets that channel back. */
class ShmChannelOpenOrCreateTest {
    private static final String NAME = "greetings";
    private static final int CAPACITY = 16;
    private static final int MESSAGES_PER_RUN = 3;

    private CheckedTestHeap fixture;
    private Path path;
    private ShmHeap heap;

    @BeforeEach
    void setUp() throws Exception {
        fixture = CheckedTestHeap.create("open-or-create", 8 << 20);
        path = fixture.path();
        heap = fixture.heap();
    }

    @AfterEach
    void tearDown() throws Exception {
        fixture.close();
    }

    @Test
    void shouldCreateTheChannelWhenTheNameIsFreeAndAttachToItWhenBound() throws Exception {
        ShmChannel first = ShmChannel.openOrCreate(heap, NAME, CAPACITY);
        ShmChannel second = ShmChannel.openOrCreate(heap, NAME, CAPACITY);
        assertEquals(first.offset(), second.offset(), "the same channel, not a second one");
        assertEquals(CAPACITY, second.capacity());
        assertEquals(ChannelDescriptor.DEFAULT_SLOT_LENGTH, second.slotLength());
        assertEquals(0, first.destroy(Duration.ZERO));
    }

    @Test
    void shouldRefuseABoundChannelOfAnotherShapeNamingBoth() throws Exception {
        ShmChannel channel = ShmChannel.openOrCreate(heap, NAME, CAPACITY, 80);
        IllegalStateException capacity = assertThrows(IllegalStateException.class,
                () -> ShmChannel.openOrCreate(heap, NAME, CAPACITY * 2, 80));
        assertTrue(capacity.getMessage().contains("capacity=" + CAPACITY) && capacity.getMessage().contains("capacity=" + CAPACITY * 2),
                capacity.getMessage());
        IllegalStateException slot = assertThrows(IllegalStateException.class, () -> ShmChannel.openOrCreate(heap, NAME, CAPACITY));
        assertTrue(slot.getMessage().contains("slotLength=80") && slot.getMessage().contains("slotLength=" + ChannelDescriptor.DEFAULT_SLOT_LENGTH), slot.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> ShmChannel.openOrCreate(heap, NAME, 3));
        assertTrue(bad.getMessage().contains("capacity=3"), bad.getMessage());
        assertEquals(0, channel.destroy(Duration.ZERO));
    }

    /**
     * Two runs of a producer program in child JVMs, each calling openOrCreate, sending and
     * exiting without destroying the channel: the second run does not fail with "already
     * bound", and the consumer that opens the channel afterwards reads both runs' messages.
     */
    @Test
    void shouldLetAProgramRerunOnTheChannelItsEarlierRunLeftBound() throws Exception {
        for (int run = 1; run <= 2; run++) {
            try (Child child = Child.start(RerunProducer.class, path.toString(), NAME, Integer.toString(run))) {
                child.awaitLine("DONE", 60);
                assertEquals(0, child.awaitExit(60), child.output());
            }
        }
        ShmChannel channel = ShmChannel.openOrCreate(heap, NAME, CAPACITY);
        List<Long> received = new ArrayList<>();
        try (ShmReceiver receiver = channel.newReceiver()) {
            receiver.read((offset, length, inline) -> {
                received.add(TestMessages.check(heap, offset, length));
                return false;
            }, CAPACITY);
        }
        List<Long> expected = new ArrayList<>();
        for (long run = 1; run <= 2; run++) {
            for (long seq = 0; seq < MESSAGES_PER_RUN; seq++) {
                expected.add(run << 40 | seq);
            }
        }
        assertEquals(expected, received, "both runs' messages, in order");
        assertEquals(0, channel.destroy(Duration.ofSeconds(10)));
    }

    /** The rerun program: {@code HEAP NAME ID}: openOrCreate, send MESSAGES_PER_RUN messages, exit without destroy. */
    public static final class RerunProducer {
        private RerunProducer() {
        }

        public static void main(String[] args) throws Exception {
            try (ShmHeap heap = ShmHeap.open(Path.of(args[0]))) {
                ShmChannel channel = ShmChannel.openOrCreate(heap, args[1], CAPACITY);
                int id = Integer.parseInt(args[2]);
                try (ShmSender sender = channel.newSender()) {
                    ShmClaim claim = new ShmClaim();
                    for (long seq = 0; seq < MESSAGES_PER_RUN; seq++) {
                        ChildMain.claimAndCommit(heap, sender, claim, id, seq);
                    }
                }
            }
            System.out.println("DONE");
        }
    }
}
