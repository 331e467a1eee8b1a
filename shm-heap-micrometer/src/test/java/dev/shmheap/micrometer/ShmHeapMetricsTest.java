package dev.shmheap.micrometer;

import dev.shmheap.HeapObserver;
import dev.shmheap.HeapStats;
import dev.shmheap.ShmHeap;
import dev.shmheap.SizeClassStats;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShmHeapMetricsTest {
    private Path file;
    private ShmHeap heap;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @BeforeEach
    void createHeap() throws Exception {
        Path shm = Path.of("/dev/shm");
        Path dir = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
        file = dir.resolve("shmheap-micrometer-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".heap");
        heap = ShmHeap.create(file, 8 << 20);
    }

    @AfterEach
    void deleteHeap() throws Exception {
        heap.close();
        Files.deleteIfExists(file);
    }

    private double gauge(String name, String... tags) {
        return registry.get(name).tag("heap", file.toString()).tags(tags).gauge().value();
    }

    private double counter(String name, String... tags) {
        return registry.get(name).tag("heap", file.toString()).tags(tags).functionCounter().count();
    }

    @Test
    void shouldReportTheHeapsFiguresWithOneLine() {
        for (int i = 0; i < 300; i++) {
            heap.allocate(100);
        }
        long big = heap.allocate(300_000);
        heap.free(heap.allocate(3000));

        new ShmHeapMetrics(heap).bindTo(registry);

        HeapStats s = heap.stats();
        assertEquals(s.totalBytes(), gauge("shmheap.capacity"));
        assertEquals(s.usedBytes(), gauge("shmheap.used"));
        assertEquals(s.availableBytes(), gauge("shmheap.available"));
        assertEquals(s.buddyFreeBytes(), gauge("shmheap.buddy.free"));
        assertEquals(s.largestFreeBlock(), gauge("shmheap.largest.free.block"));
        assertEquals(1, gauge("shmheap.attached.processes"));
        assertEquals(0, gauge("shmheap.dead.processes"));
        assertEquals(0, gauge("shmheap.dead.held"));
        assertEquals(s.buddyAllocations(), counter("shmheap.buddy.allocations"));
        assertEquals(s.buddyFrees(), counter("shmheap.buddy.frees"));
        assertEquals(0, counter("shmheap.lock.takeovers"));
        assertEquals(0, counter("shmheap.reclaimed.blocks"));
        assertEquals(0, counter("shmheap.reclaimed"));
        for (SizeClassStats c : s.sizeClasses()) {
            String size = String.valueOf(c.blockSize());
            assertEquals(c.usedBlocks(), gauge("shmheap.class.used.blocks", "block.size", size));
            assertEquals(c.totalBlocks(), gauge("shmheap.class.total.blocks", "block.size", size));
            assertEquals(c.allocations(), counter("shmheap.class.allocations", "block.size", size));
            assertEquals(c.frees(), counter("shmheap.class.frees", "block.size", size));
        }
        assertEquals(300, gauge("shmheap.class.used.blocks", "block.size", "128"));
        assertEquals("bytes", registry.get("shmheap.used").gauge().getId().getBaseUnit());
        assertEquals("bytes", registry.get("shmheap.reclaimed").functionCounter().getId().getBaseUnit());
        assertTrue(big > 0);
    }

    @Test
    void shouldReadTheHeapAgainOnceTheLastReadIsOlderThanMaxAge() {
        new ShmHeapMetrics(heap, Tags.of("service", "orders"), Duration.ZERO).bindTo(registry);
        double before = gauge("shmheap.used", "service", "orders");
        long block = heap.allocate(1 << 20);
        assertEquals(before + (1 << 20), gauge("shmheap.used", "service", "orders"));
        heap.free(block);
        assertEquals(before, gauge("shmheap.used", "service", "orders"));
    }

    @Test
    void shouldServeOneScrapeFromOneStatsRead() {
        new ShmHeapMetrics(heap, Tags.empty(), Duration.ofHours(1)).bindTo(registry);
        double used = gauge("shmheap.used");
        heap.allocate(1 << 20);
        assertEquals(used, gauge("shmheap.used"), "within maxAge the meters read the same moment");
    }

    @Test
    void shouldReadNaNOnceTheHeapIsClosed() throws Exception {
        new ShmHeapMetrics(heap, Tags.empty(), Duration.ZERO).bindTo(registry);
        heap.close();
        List<Meter> meters = registry.getMeters();
        assertTrue(meters.size() > 30, "every meter is bound: " + meters.size());
        assertTrue(Double.isNaN(gauge("shmheap.used")));
        assertTrue(Double.isNaN(counter("shmheap.lock.takeovers")));
    }

    @Test
    void shouldBindAHeapAttachedReadOnly() throws Exception {
        heap.allocate(5000);
        try (HeapObserver observer = HeapObserver.open(file)) {
            new ShmHeapMetrics(observer).bindTo(registry);
            assertEquals(heap.stats().usedBytes(), gauge("shmheap.used"));
            assertEquals(1, gauge("shmheap.attached.processes"), "the observer does not register; the writer does");
        }
    }

    @Test
    void shouldRefuseANegativeMaxAge() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ShmHeapMetrics(heap, Tags.empty(), Duration.ofSeconds(-1)));
        assertEquals("maxAge=PT-1S must not be negative", e.getMessage());
    }
}
