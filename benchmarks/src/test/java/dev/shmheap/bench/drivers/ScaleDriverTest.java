package dev.shmheap.bench.drivers;

import dev.shmheap.bench.drivers.ScaleDriver.Config;
import dev.shmheap.bench.drivers.ScaleDriver.Measurement;
import dev.shmheap.bench.report.ResultRow;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs the scale driver with tiny counts on a 1 MiB and a 64 GiB sparse heap; checks shape, never timings. */
class ScaleDriverTest {
    private static final long MIB = 1L << 20;
    private static final long GIB64 = 64L << 30;

    @AfterEach
    void nothingLeftBehind() throws Exception {
        assertEquals(List.of(), DriverSupport.leftoverHeapFiles(), "heap files left in " + DriverSupport.heapDirectory());
        assertEquals(java.util.Set.of(), DriverSupport.pendingDeletion(), "files the driver created and did not delete");
    }

    @Test
    void measuresEveryCaseAndSaysWhatCannotBeMeasured() throws Exception {
        Config config = new Config(List.of(MIB, GIB64), List.of(64L, MIB), 1000, 5, 100_000, 3, 2);
        ScaleDriver.Result result = ScaleDriver.run(config);
        for (String what : List.of(ScaleDriver.PAIR, ScaleDriver.HELD)) {
            for (long size : List.of(64L, MIB)) {
                List<Measurement> ms = result.of(what, size);
                if (what.equals(ScaleDriver.HELD) && size == 64) {
                    assertEquals(List.of(), ms, "slab sizes have no held variant");
                    continue;
                }
                assertEquals(2, ms.size(), what + " " + size);
                for (Measurement m : ms) {
                    boolean cannot = what.equals(ScaleDriver.HELD) && m.capacity() == MIB; // the whole heap is one 1 MiB block
                    assertEquals(!cannot, m.applicable(), m.toString());
                    if (cannot) {
                        assertTrue(m.note() != null && !m.note().isBlank());
                    }
                    for (double s : m.samples()) {
                        assertTrue(s > 0 && Double.isFinite(s), m.toString());
                    }
                    if (m.applicable()) {
                        assertEquals(config.rounds(), m.samples().length);
                    }
                }
            }
        }
        for (String what : List.of(ScaleDriver.OPEN, ScaleDriver.CREATE)) {
            List<Measurement> ms = result.of(what, 0);
            assertEquals(2, ms.size(), what);
            for (Measurement m : ms) {
                assertTrue(m.applicable(), m.toString());
                assertTrue(m.median() > 0, m.toString());
            }
        }
        assertEquals(2, result.verifies().size());
        result.verifies().forEach(v -> assertTrue(v.ok(), v.toString()));

        List<ResultRow> rows = ScaleDriver.rows(config, result);
        assertFalse(rows.isEmpty());
        long targets = rows.stream().filter(r -> !r.target().isEmpty()).count();
        assertTrue(targets >= 3, "every measured thing has a flatness verdict on its largest capacity: " + rows);
        rows.stream().filter(r -> !r.target().isEmpty()).forEach(r -> assertTrue(r.verdict().equals("yes") || r.verdict().equals("NO"), r.toString()));
        rows.forEach(r -> assertTrue(r.toMarkdown().startsWith("| scale | "), r.toMarkdown()));
        assertTrue(rows.stream().anyMatch(r -> r.ours().startsWith("n/a")), "the 1 MiB heap cannot hold two 1 MiB blocks: " + rows);
    }

    @Test
    void pairedRatioIsTheMedianOfPerRoundRatios() {
        Measurement base = new Measurement(ScaleDriver.PAIR, MIB, 64, new double[] {10, 100, 10}, null);
        Measurement big = new Measurement(ScaleDriver.PAIR, GIB64, 64, new double[] {20, 100, 30}, null);
        assertEquals(2.0, ScaleDriver.pairedRatio(big, base), 1e-9);
    }
}
