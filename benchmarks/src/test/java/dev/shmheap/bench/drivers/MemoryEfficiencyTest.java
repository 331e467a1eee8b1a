package dev.shmheap.bench.drivers;

import dev.shmheap.bench.drivers.MemoryEfficiency.Config;
import dev.shmheap.bench.drivers.MemoryEfficiency.Fragmentation;
import dev.shmheap.bench.drivers.MemoryEfficiency.Metadata;
import dev.shmheap.bench.drivers.MemoryEfficiency.SlabWaste;
import dev.shmheap.bench.report.ResultRow;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs the memory-efficiency driver with small counts; checks the figures are sane. */
class MemoryEfficiencyTest {
    @AfterEach
    void nothingLeftBehind() throws Exception {
        assertEquals(List.of(), DriverSupport.leftoverHeapFiles(), "heap files left in " + DriverSupport.heapDirectory());
        assertEquals(java.util.Set.of(), DriverSupport.pendingDeletion(), "files the driver created and did not delete");
    }

    @Test
    void figuresAreSaneAndTheHeapsVerifyClean() throws Exception {
        Config config = new Config(List.of(1L << 20, 64L << 30), 5000, 2000, 32L << 20, 7);
        MemoryEfficiency.Result result = MemoryEfficiency.run(config);

        assertEquals(2, result.metadata().size());
        for (Metadata m : result.metadata()) {
            assertEquals(m.beforeData(), m.fixedBytes() + m.pageMapBytes() + m.paddingBytes(), m.toString());
            assertTrue(m.pageMapBytes() >= m.capacity() / 4096 * 16, "16 bytes per page: " + m);
            assertTrue(m.paddingBytes() >= 0, m.toString());
            assertTrue(m.share() > 0 && m.share() < 1, m.toString());
        }

        assertEquals(2, result.fragmentation().size());
        assertEquals(5000, result.fragmentation().get(0).requests());
        assertEquals(2000, result.fragmentation().get(1).requests());
        for (Fragmentation f : result.fragmentation()) {
            assertTrue(f.usableBytes() >= f.requestedBytes(), f.toString());
            for (double x : new double[] {f.internal(), f.jemallocInternal(), f.powerOfTwoInternal()}) {
                assertTrue(x >= 0 && x < 1, f.toString());
            }
        }
        assertEquals(3, result.slabWaste().size());
        for (SlabWaste w : result.slabWaste()) {
            assertTrue(w.setBytes() > 0 && w.usedBytes() <= w.setBytes(), w.toString());
            assertTrue(w.waste() >= 0 && w.waste() < 1, w.toString());
        }
        assertTrue(result.useAtFirstFailure().length > 0, "2000 requests of up to 1 MiB must fill a 32 MiB heap at least once");
        for (double use : result.useAtFirstFailure()) {
            assertTrue(use > 0 && use <= 1, "use " + use);
        }
        for (double requested : result.requestedAtFirstFailure()) {
            assertTrue(requested > 0 && requested <= 1, "requested " + requested);
        }
        assertEquals(2, result.verifies().size());
        result.verifies().forEach(v -> assertTrue(v.ok(), v.toString()));

        List<ResultRow> rows = MemoryEfficiency.rows(config, result);
        rows.forEach(r -> assertTrue(r.toMarkdown().startsWith("| memory | "), r.toMarkdown()));
        assertEquals(2 + 2 + 3 + 1, rows.size());
    }

    @Test
    void referenceRoundings() {
        assertEquals(8, MemoryEfficiency.jemallocClass(1));
        assertEquals(16, MemoryEfficiency.jemallocClass(9));
        assertEquals(128, MemoryEfficiency.jemallocClass(128));
        assertEquals(160, MemoryEfficiency.jemallocClass(129));
        assertEquals(320, MemoryEfficiency.jemallocClass(257));
        assertEquals(4096, MemoryEfficiency.jemallocClass(4096));
        assertEquals(5120, MemoryEfficiency.jemallocClass(4097));
        assertEquals(1L << 20, MemoryEfficiency.jemallocClass(1L << 20));
        assertEquals(64, MemoryEfficiency.powerOfTwoClass(1));
        assertEquals(64, MemoryEfficiency.powerOfTwoClass(64));
        assertEquals(128, MemoryEfficiency.powerOfTwoClass(65));
        assertEquals(1L << 20, MemoryEfficiency.powerOfTwoClass(1L << 20));
    }
}
