package dev.shmheap.ipc.demo.fanout;

import dev.shmheap.ipc.Child;
import dev.shmheap.ipc.TestHeaps;
import dev.shmheap.ipc.fanout.FanoutChannel;
import dev.shmheap.ipc.fanout.FanoutPublisher;
import dev.shmheap.ipc.fanout.FanoutStats;
import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** Publisher and subscribers in separate JVMs (FanoutMain), as scripts/fanout.sh runs them. */
class FanoutMultiProcessTest {
    private static final long CHILD_TIMEOUT_SECONDS = 90;
    private Path path;
    private final List<Child> children = new ArrayList<>();

    @BeforeEach
    void create() throws Exception {
        path = TestHeaps.newPath("mp");
        ShmHeap.create(path, 32 << 20).close();
    }

    @AfterEach
    void cleanUp() throws Exception {
        children.forEach(Child::close);
        Files.deleteIfExists(path);
    }

    private Child start(String... args) throws Exception {
        Child child = Child.start(FanoutMain.class, args);
        children.add(child);
        return child;
    }

    private Child subscriber(String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("subscriber", "--heap", path.toString(), "--timeout-seconds", "60"));
        args.addAll(List.of(extra));
        return start(args.toArray(String[]::new));
    }

    private void assertHeapAtBaseline() throws Exception {
        try (ShmHeap heap = ShmHeap.open(path)) {
            assertEquals(0, heap.stats().usedBytes(), "heap used bytes back at its empty baseline");
            assertTrue(heap.names().isEmpty(), "channel unbound: " + heap.names());
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    @Test
    void shouldDeliverEveryMessageToEverySubscriberInOrder() throws Exception {
        Child publisher = start("publisher", "--heap", path.toString(), "--count", "30000", "--size", "200", "--slots", "256",
                "--subscribers", "3", "--timeout-seconds", "60");
        publisher.awaitLine("publisher: channel", CHILD_TIMEOUT_SECONDS);
        List<Child> subscribers = List.of(subscriber(), subscriber(), subscriber());
        for (Child s : subscribers) {
            assertEquals(0, s.awaitExit(CHILD_TIMEOUT_SECONDS), s.output());
            assertTrue(s.output().contains("received 30000 messages (positions 0..30000)"), s.output());
            assertTrue(s.output().contains("errors 0"), s.output());
        }
        assertEquals(0, publisher.awaitExit(CHILD_TIMEOUT_SECONDS), publisher.output());
        assertTrue(publisher.output().contains("back at baseline"), publisher.output());
        assertHeapAtBaseline();
    }

    @Test
    void shouldNotWedgeThePublisherWhenAStalledSubscriberIsKilled() throws Exception {
        int slots = 128;
        Child publisher = start("publisher", "--heap", path.toString(), "--count", "20000", "--size", "100", "--slots",
                Integer.toString(slots), "--subscribers", "3", "--timeout-seconds", "60");
        publisher.awaitLine("publisher: channel", CHILD_TIMEOUT_SECONDS);
        Child a = subscriber();
        Child b = subscriber();
        Child victim = subscriber("--stall-after", "1000");
        victim.awaitLine("STALLED", CHILD_TIMEOUT_SECONDS);
        try (ShmHeap heap = ShmHeap.open(path)) {
            FanoutChannel channel = FanoutChannel.attach(heap, "fan", Duration.ofSeconds(10));
            // The stalled subscriber holds the publisher at exactly the bounded lag.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CHILD_TIMEOUT_SECONDS);
            FanoutStats stats;
            while ((stats = channel.stats()).tail() - 1000 < slots) {
                assertTrue(System.nanoTime() - deadline < 0, "the ring never filled behind the stalled subscriber: " + stats);
                Thread.sleep(1);
            }
            assertEquals(1000 + slots, stats.tail(), "the publisher ran exactly capacity ahead of the stalled subscriber: " + stats);
            assertEquals(1000, stats.slowest());
            victim.kill();
        }
        for (Child s : List.of(a, b)) {
            assertEquals(0, s.awaitExit(CHILD_TIMEOUT_SECONDS), s.output());
            assertTrue(s.output().contains("received 20000 messages"), s.output());
        }
        assertEquals(0, publisher.awaitExit(CHILD_TIMEOUT_SECONDS), publisher.output());
        assertTrue(publisher.output().contains("dead subscribers dropped: 1"), publisher.output());
        assertTrue(publisher.output().contains("back at baseline"), publisher.output());
        assertHeapAtBaseline();
    }

    @Test
    void shouldStartALateSubscriberInAnotherProcessAtTheCurrentPosition() throws Exception {
        try (ShmHeap heap = ShmHeap.open(path)) {
            long baseline = heap.stats().usedBytes();
            FanoutChannel channel = FanoutChannel.create(heap, "fan", 1024);
            byte[] scratch = new byte[256];
            try (FanoutPublisher publisher = channel.newPublisher()) {
                Child early = subscriber();
                assertTrue(early.awaitLine("JOINED", CHILD_TIMEOUT_SECONDS).contains("at position 0"));
                publish(heap, publisher, 500, scratch);
                Child late = subscriber();
                String joined = late.awaitLine("JOINED", CHILD_TIMEOUT_SECONDS);
                assertTrue(joined.contains("at position 500"), joined);
                publish(heap, publisher, 700, scratch);
                publisher.close();
                assertEquals(0, early.awaitExit(CHILD_TIMEOUT_SECONDS), early.output());
                assertEquals(0, late.awaitExit(CHILD_TIMEOUT_SECONDS), late.output());
                assertTrue(early.output().contains("received 1200 messages (positions 0..1200)"), early.output());
                assertTrue(late.output().contains("received 700 messages (positions 500..1200)"), late.output());
            }
            assertEquals(0, channel.destroy(Duration.ofSeconds(30)));
            assertEquals(baseline, heap.stats().usedBytes());
        }
        assertHeapAtBaseline();
    }

    private static void publish(ShmHeap heap, FanoutPublisher publisher, int count, byte[] scratch) throws InterruptedException {
        for (int i = 0; i < count; i++) {
            long offset = FanoutMessage.allocate(heap, publisher.position(), 128, scratch);
            assertTrue(publisher.offer(offset, 128, 30, TimeUnit.SECONDS), "offer " + i);
        }
    }
}
