package dev.shmheap.bench.drivers;

import dev.shmheap.bench.drivers.MultiProcessDriver.Config;
import dev.shmheap.bench.drivers.MultiProcessDriver.Mix;
import dev.shmheap.bench.drivers.MultiProcessDriver.ProcessResult;
import dev.shmheap.bench.drivers.MultiProcessDriver.RunResult;
import dev.shmheap.bench.drivers.MultiProcessDriver.Window;
import dev.shmheap.bench.report.ResultRow;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs the multi-process driver with tiny windows; checks completeness and cleanliness, never timings. */
class MultiProcessDriverTest {
    @AfterEach
    void nothingLeftBehind() throws Exception {
        assertEquals(List.of(), DriverSupport.leftoverHeapFiles(), "heap files left in " + DriverSupport.heapDirectory());
        assertEquals(java.util.Set.of(), DriverSupport.pendingDeletion(), "files the driver created and did not delete");
    }

    @Test
    void oneAndTwoJvmsReportFromEveryProcessAndLeaveTheHeapClean() throws Exception {
        // two of the three mixes (OWN_CLASS runs the same loop as SAME_CLASS_64): each launch costs JVM start-ups
        List<Mix> mixes = List.of(Mix.SAME_CLASS_64, Mix.MIXED_64B_16K);
        Config config = new Config(List.of(1, 2), mixes, 1, 100, 10_000, 100, 2, 16L << 20);
        List<RunResult> results = MultiProcessDriver.run(config);
        assertEquals(mixes.size(), results.size());
        for (RunResult r : results) {
            assertEquals(2, r.perProcess().size(), r.toString());
            for (ProcessResult p : r.perProcess()) {
                assertTrue(p.ops() > 0, "process reported no operations: " + p + " in " + r.mix());
                assertTrue(p.elapsedNanos() > 0, "process reported no active time: " + p);
            }
            assertEquals(2, r.windows(1).size(), "one window per cycle");
            assertEquals(2, r.windows(2).size(), "one window per cycle");
            for (int n : List.of(1, 2)) {
                for (int i = 0; i < n; i++) {
                    int process = i;
                    long sum = r.windows(n).stream().mapToLong(w -> w.ops()[process]).sum();
                    assertTrue(sum > 0, "the driver saw no operations of process " + i + " in the " + n + "-JVM windows of " + r.mix());
                }
            }
            assertTrue(r.verify().ok(), r.verify().toString());
            assertEquals(0, r.usedBytesAfter());
        }
        List<ResultRow> rows = MultiProcessDriver.rows(config, results);
        assertEquals(2 * mixes.size(), rows.size());
        for (ResultRow row : rows) {
            assertTrue(row.toMarkdown().startsWith("| multi-process | "), row.toMarkdown());
        }
        ResultRow target = rows.get(1);
        assertTrue(target.verdict().equals("yes") || target.verdict().equals("NO"), target.toString());
    }

    @Test
    void aWorkerThatFailsFailsTheRun() {
        // 32 KiB heap: the control block takes 8 KiB, so two JVMs with 16 live blocks of up to 16 KiB cannot fit
        Config config = new Config(List.of(2), List.of(Mix.MIXED_64B_16K), 1, 50, 1000, 50, 1, 32L << 10);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> MultiProcessDriver.run(config));
        assertTrue(e.getMessage().contains("worker"), e.getMessage());
    }

    @Test
    void ratiosArePairedPerCycleAndJudgeTheTwoJvmTarget() {
        Config config = new Config(List.of(1, 2, 4), List.of(Mix.SAME_CLASS_64), 1, 0, 0, 0, 2, 1L << 20);
        // cycle 0 on a fast machine, cycle 1 on a slow one: per cycle, 2 JVMs do 0.9x and 4 JVMs 1.2x of 1 JVM
        List<Window> windows = List.of(
                window(0, 1, 1000), window(0, 2, 400, 500), window(0, 4, 300, 300, 300, 300),
                window(1, 1, 100), window(1, 2, 40, 50), window(1, 4, 30, 30, 30, 30));
        RunResult run = new RunResult(Mix.SAME_CLASS_64, 0, List.of(), windows, null, 0);
        List<ResultRow> rows = MultiProcessDriver.rows(config, List.of(run));
        assertEquals(3, rows.size());
        assertEquals("1.00x", rows.get(0).ratio());
        assertEquals("0.90x (per-cycle IQR 0.90-0.90)", rows.get(1).ratio());
        assertEquals("NO", rows.get(1).verdict());
        assertEquals("1.20x (per-cycle IQR 1.20-1.20)", rows.get(2).ratio());
        assertEquals("", rows.get(2).verdict());
    }

    private static Window window(int cycle, int n, long... ops) {
        return new Window(cycle, n, ops, 1_000_000_000L, -1);
    }
}
