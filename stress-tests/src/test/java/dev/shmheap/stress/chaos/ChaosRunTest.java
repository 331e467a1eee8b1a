package dev.shmheap.stress.chaos;

import dev.shmheap.ShmHeap;
import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.stress.jcstress.DeadTokens;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CI chaos runs: worker JVMs churn on one heap while one of them is SIGKILLed every 0.5-2 s
 * and replaced. The heap must verify, no block may have been handed to two processes (pattern
 * checks), the survivors must keep making progress, and the bytes must add up: with the heap
 * reclaiming (RECLAIM_DEAD, the default) nothing may stay used, with the harness's ledger the
 * leak must be what the killed workers' slots explain.
 */
class ChaosRunTest {

    @Test
    void shouldSurviveKillNineOfRandomWorkersAndLoseNoByteWhenTheHeapReclaims() throws Exception {
        ChaosConfig config = ChaosConfig.defaults().withWorkers(4).withSeconds(60).withSeed(20240611L);
        assertEquals(ChaosConfig.Reclaim.HEAP, config.reclaim());
        ChaosResult result = ChaosRun.run(config);
        String report = assertSurvived(result);

        assertTrue(result.line().contains(" unaccounted_bytes=0 "), report);
        assertEquals(0, result.bytes().unaccounted(), report);
        assertTrue(result.bytes().reclaimed() > 0, "the heap reclaimed nothing: " + report);
        assertTrue(result.leakExplained(), report);
    }

    @Test
    void shouldAccountForEveryByteWhenTheLedgerReclaims() throws Exception {
        ChaosConfig config = ChaosConfig.defaults().withWorkers(3).withSeconds(20).withSeed(20240612L).withReclaim(ChaosConfig.Reclaim.LEDGER);
        ChaosResult result = ChaosRun.run(config);
        String report = assertSurvived(result);

        assertTrue(result.line().contains(" reclaim=ledger"), report);
        assertTrue(result.bytes().reclaimed() > 0, "the ledger reclaimed nothing: " + report);
        assertTrue(result.leakExplained(), report);
    }

    /** The checks every run must pass; returns the report for messages. */
    private static String assertSurvived(ChaosResult result) {
        String report = String.join("\n", result.details()) + "\n" + result.line();
        System.out.println(result.line());
        assertTrue(result.line().contains(" verify=OK "), report);
        assertTrue(result.line().contains(" pattern_violations=0 "), report);
        assertEquals(0, result.patternViolations(), report);
        assertTrue(result.verifyOk(), report);
        assertFalse(result.watchdogFired(), report);
        assertEquals(0, result.workerFailures(), report);
        assertTrue(result.kills() > 0, "no worker was killed: " + report);
        assertTrue(result.ops() > 0, "no operation completed: " + report);
        assertTrue(result.passed(), report);
        return report;
    }

    @Test
    void shouldComputeNearestRankPercentiles() {
        double[] sorted = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertEquals(5, RecoveryTimes.percentile(sorted, 50));
        assertEquals(10, RecoveryTimes.percentile(sorted, 99));
        assertEquals(1, RecoveryTimes.percentile(new double[] {1}, 99));
        assertTrue(Double.isNaN(RecoveryTimes.percentile(new double[0], 50)));
    }

    @Test
    void shouldPredictTheUsableSizeOfEachRoute() {
        assertEquals(64, ChaosWorker.expectedUsable(1, 8));
        assertEquals(64, ChaosWorker.expectedUsable(64, 8));
        assertEquals(128, ChaosWorker.expectedUsable(65, 8));
        assertEquals(4096, ChaosWorker.expectedUsable(100, 4096));
        assertEquals(8192, ChaosWorker.expectedUsable(4097, 8));
        assertEquals(1 << 20, ChaosWorker.expectedUsable((1 << 20) - 1, 8));
    }

    @Test
    void shouldParseTakeoverLinesAndIgnoreTruncatedOnes() {
        Takeovers.Completed c = Takeovers.Completed.parse("takeover victim=42 at=100 done=250 lock=lock of class 64 of /dev/shm/x");
        assertEquals(new Takeovers.Completed(42, 100, 250, "lock of class 64 of /dev/shm/x"), c);
        assertEquals(null, Takeovers.Completed.parse("takeover victim=42 at=1"));
        assertEquals(null, Takeovers.Completed.parse("worker id=1 ops=5"));
    }

    /** The takeovers come from the heap itself: a lock a dead process holds is taken over, and the heap says so. */
    @Test
    void shouldHearOfEachTakeoverFromTheHeap() throws Exception {
        Path path = Path.of("/dev/shm", "chaos-takeover-" + ProcessHandle.current().pid() + ".heap");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            Takeovers takeovers = Takeovers.listenTo(heap);
            heap.free(heap.allocate(64));
            heap.trim();
            assertEquals(List.of(), takeovers.drain(), "no lock was taken over");
            long deadOwner = DeadTokens.EXITED_PROCESS;
            long lockWord = HeaderDescriptor.classOffset(0, 0, HeaderDescriptor.CLASS_LOCK);
            try (FileChannel file = FileChannel.open(path, StandardOpenOption.WRITE)) {
                file.write(ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(0, deadOwner), lockWord);
            }
            long before = System.nanoTime();
            heap.trim(); // takes every class lock, so it finds class 64's owner dead
            List<Takeovers.Event> events = takeovers.drain();
            assertEquals(1, events.size(), events::toString);
            Takeovers.Event e = events.get(0);
            assertEquals(deadOwner >>> 32, e.victimPid());
            assertTrue(e.atNanos() >= before && e.atNanos() <= System.nanoTime(), e::toString);
            assertTrue(e.lock().startsWith("lock of class 64 stripe 0 of " + path), e.lock());
            assertEquals(1, heap.stats().lockTakeovers(), "the heap counts it too");
            assertTrue(heap.verify().ok(), heap.verify().toString());
        } finally {
            Files.deleteIfExists(path);
        }
    }

    @Test
    void shouldParseTheCommandLineAndNameWhatIsWrong() {
        ChaosConfig c = ChaosConfig.parse(new String[] {"/tmp/x.heap", "--workers", "3", "--minutes", "2", "--seed", "9", "--reclaim", "none"});
        assertEquals(java.nio.file.Path.of("/tmp/x.heap"), c.heap());
        assertEquals(3, c.workers());
        assertEquals(120, c.seconds());
        assertEquals(9, c.seed());
        assertEquals(ChaosConfig.Reclaim.NONE, c.reclaim());
        assertEquals(ChaosConfig.Reclaim.NONE, ChaosConfig.parse(new String[] {"--no-reclaim"}).reclaim());
        assertEquals(ChaosConfig.Reclaim.HEAP, ChaosConfig.parse(new String[0]).reclaim());
        assertEquals(ChaosConfig.Reclaim.LEDGER, ChaosConfig.parse(new String[] {"--reclaim", "ledger"}).reclaim());
        assertEquals(64L << 20, c.capacityBytes());
        assertEquals((64L << 20) / 12, c.heldLimit());
        for (String[] bad : new String[][] {{"--workers"}, {"--workers", "0"}, {"--reclaim", "maybe"}, {"--seconds", "x"}, {"a", "b"},
                {"--kill-min-ms", "900", "--kill-max-ms", "800"}, {"--frobnicate"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ChaosConfig.parse(bad), String.join(" ", bad));
            assertTrue(e.getMessage().contains(bad[bad.length - 1]) || e.getMessage().contains(bad[0]), e.getMessage());
        }
    }

    @Test
    void shouldExplainALeakByWhatEachReclamationLeaves() {
        Reclamation none = Reclamation.of(ChaosConfig.Reclaim.NONE, null, null, () -> { });
        assertArrayEquals(new long[] {1000, 1000}, none.leakRange(1000, 0, 0));
        assertArrayEquals(new long[] {1000, 1064}, none.leakRange(1000, 0, 64), "killed while allocating 64 usable bytes");
        assertArrayEquals(new long[] {936, 1000}, none.leakRange(1000, 0, -64), "killed while freeing a listed block of 64");
        assertArrayEquals(new long[] {0, 64}, none.leakRange(0, 0, 64));
        assertArrayEquals(new long[] {0, 0}, none.leakRange(0, 0, -64), "never negative");
        assertFalse(none.reclaim(1, 4096, ControlBlock.meta(10, 1), 64));
        Reclamation ledger = Reclamation.of(ChaosConfig.Reclaim.LEDGER, null, null, () -> { });
        assertArrayEquals(new long[] {0, 64}, ledger.leakRange(1000, 1000, 64), "all listed blocks freed, one allocation in flight");
        assertArrayEquals(new long[] {0, 0}, ledger.leakRange(1000, 1000, -64));
        Reclamation heap = Reclamation.of(ChaosConfig.Reclaim.HEAP, null, null, () -> { });
        assertTrue(heap.leavesBlocksToTheHeap());
        assertArrayEquals(new long[] {0, 0}, heap.leakRange(1000, 0, 64), "the heap's holder record is exact: nothing may be left");
        assertThrows(IllegalStateException.class, () -> heap.reclaim(1, 4096, ControlBlock.meta(10, 1), 64));
        assertFalse(none.leavesBlocksToTheHeap());
        assertFalse(ledger.leavesBlocksToTheHeap());
    }
}
