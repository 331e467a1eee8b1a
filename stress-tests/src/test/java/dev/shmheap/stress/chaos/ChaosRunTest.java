package dev.shmheap.stress.chaos;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CI chaos run (about 60 s): four worker JVMs churn on one heap while one of them is SIGKILLed every
 * 0.5-2 s and replaced. The heap must verify, no block may have been handed to two processes
 * (pattern checks), and the survivors must keep making progress.
 */
class ChaosRunTest {

    @Test
    void shouldSurviveKillNineOfRandomWorkers() throws Exception {
        ChaosRun.Config config = ChaosRun.Config.defaults().withWorkers(4).withSeconds(60).withSeed(20240611L);
        ChaosRun.Result result = ChaosRun.run(config);
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
    }

    @Test
    void shouldComputeNearestRankPercentiles() {
        double[] sorted = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertEquals(5, ChaosRun.percentile(sorted, 50));
        assertEquals(10, ChaosRun.percentile(sorted, 99));
        assertEquals(1, ChaosRun.percentile(new double[] {1}, 99));
        assertTrue(Double.isNaN(ChaosRun.percentile(new double[0], 50)));
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
        TakeoverLog.Completed c = TakeoverLog.Completed.parse("takeover victim=42 at=100 done=250 lock=lock of class 64 of /dev/shm/x");
        assertEquals(new TakeoverLog.Completed(42, 100, 250, "lock of class 64 of /dev/shm/x"), c);
        assertEquals(null, TakeoverLog.Completed.parse("takeover victim=42 at=1"));
        assertEquals(null, TakeoverLog.Completed.parse("worker id=1 ops=5"));
    }

    @Test
    void shouldRecogniseTheSpinLockTakeoverMessages() {
        TakeoverLog log = TakeoverLog.install(true);
        log.onMessage("took over buddy lock of /dev/shm/h from dead pid 1234 (start 99, dead)", 7);
        log.onMessage("repairing lock of class 128 of /dev/shm/h, marked for repair", 8);
        log.onMessage("waiting 10 s for buddy lock held by pid 1 (start 2, alive)", 9);
        assertEquals(java.util.List.of(new TakeoverLog.Event(1234, 7, "buddy lock of /dev/shm/h"),
                new TakeoverLog.Event(0, 8, "lock of class 128 of /dev/shm/h")), log.drain());
    }
}
