package dev.shmheap;

import dev.shmheap.internal.memory.CrashPoints;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Kills a child JVM before every single store of each critical section (while it holds the
 * lock), then uses the heap from this JVM: nothing may hang, verify() must pass, and the used
 * bytes must be exact up to the dead child's own operation (done or not done, nothing else).
 */
class CrashPointTest {
    private static final Pattern USED = Pattern.compile("usedBefore=(\\d+) delta=(-?\\d+)");
    private static final Pattern STORES = Pattern.compile("stores=(\\d+)");

    @ParameterizedTest
    @EnumSource(CrashScenario.class)
    void shouldStayConsistentWhenKilledBeforeAnyStore(CrashScenario scenario) throws Exception {
        int stores = countStores(scenario);
        assertTrue(stores > 0, "the dry run counted no stores");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int n = 1; n <= stores; n++) {
                int crashAt = n;
                results.add(pool.submit(() -> crashAndCheck(scenario, crashAt)));
            }
            List<String> sites = new ArrayList<>();
            for (Future<String> result : results) {
                sites.add(result.get(5, TimeUnit.MINUTES));
            }
            System.out.println(scenario + ": " + stores + " crash points\n  " + String.join("\n  ", sites));
        } finally {
            pool.shutdownNow();
        }
    }

    private static int countStores(CrashScenario scenario) throws Exception {
        Path path = TestHeaps.newPath("crash-dry");
        try {
            ShmHeap.create(path, scenario.capacity()).close();
            ChildResult child = runChild(path, scenario, 0);
            assertEquals(0, child.exitCode, "dry run failed:\n" + child.stderr);
            Matcher m = STORES.matcher(child.stdout);
            assertTrue(m.find(), "dry run printed no store count:\n" + child.stdout);
            return Integer.parseInt(m.group(1));
        } finally {
            TestHeaps.delete(path);
        }
    }

    private static String crashAndCheck(CrashScenario scenario, int crashAt) throws Exception {
        Path path = TestHeaps.newPath("crash-" + crashAt);
        try {
            ShmHeap.create(path, scenario.capacity()).close();
            ChildResult child = runChild(path, scenario, crashAt);
            String site = child.stderr.lines().filter(l -> l.startsWith("crash point")).findFirst().orElse("(no crash point line)");
            assertEquals(CrashPoints.EXIT_CODE, child.exitCode, "store " + crashAt + ": child did not halt at the crash point\n"
                    + child.stdout + child.stderr);
            Matcher m = USED.matcher(child.stdout);
            assertTrue(m.find(), "child printed no used bytes: " + child.stdout);
            long usedBefore = Long.parseLong(m.group(1));
            long delta = Long.parseLong(m.group(2));
            // The dead child keeps process-table slot 0 until recover() removes it, so these
            // attachments get slots 1 and 2: in a striped heap they start on different stripes,
            // and the one starting on the child's finds its lock taken and repairs it.
            try (ShmHeap heap = ShmHeap.open(path); ShmHeap otherStripe = ShmHeap.open(path)) {
                if (crashAt % 2 == 0) {
                    // Half the points repair through recover() and must leave a heap that verifies
                    // before anything else touches it (no merge left undone, no list or counter off).
                    heap.recover();
                    VerifyReport repaired = heap.verify();
                    assertTrue(repaired.ok(), site + ": after recover():\n" + repaired);
                }
                // The other half are repaired by ordinary calls taking over the dead child's locks.
                assertTimeoutPreemptively(Duration.ofSeconds(30), () -> exerciseEveryLock(heap, otherStripe), site + ": the heap hung");
                VerifyReport report = heap.verify();
                assertTrue(report.ok(), site + ":\n" + report);
                long used = heap.stats().usedBytes();
                assertTrue(used == usedBefore || used == usedBefore + delta,
                        site + ": used bytes " + used + ", expected " + usedBefore + " or " + (usedBefore + delta));
            }
            return site;
        } finally {
            TestHeaps.delete(path);
        }
    }

    /**
     * Allocates and frees through every class lock (of both stripes, in a striped heap) and the
     * buddy lock, taking over any a dead process holds.
     */
    private static void exerciseEveryLock(ShmHeap heap, ShmHeap otherStripe) {
        for (ShmHeap attachment : List.of(heap, otherStripe)) {
            for (int size = 64; size <= 4096; size <<= 1) {
                attachment.free(attachment.allocate(size));
            }
        }
        heap.free(heap.allocate(8192));
    }

    private record ChildResult(int exitCode, String stdout, String stderr) {
    }

    private static ChildResult runChild(Path path, CrashScenario scenario, int crashAt) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("shmheap-crash-");
        try {
            ChildJvms.Child child = ChildJvms.start(dir, "child", List.of("-D" + CrashPoints.PROPERTY + "=" + crashAt),
                    CrashPointChild.class, path, scenario.name());
            ChildJvms.awaitExit(List.of(child), TimeUnit.MINUTES.toMillis(2));
            return new ChildResult(child.process().exitValue(), child.out(), child.err());
        } finally {
            ChildJvms.deleteRecursively(dir);
        }
    }
}
