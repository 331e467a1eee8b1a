package dev.shmheap;

import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Several child JVMs allocate and free in one heap at once. Each child fills every block it
 * holds with its own owner/sequence pattern and checks it before freeing, so a block handed to
 * two processes at once, or a block overlapping another, ends that child with a nonzero exit
 * code naming the offset.
 */
class MultiProcessTest {
    private static final long CAPACITY = 64L << 20;
    private static final int CHILDREN = 4;
    private static final long EXIT_TIMEOUT_MILLIS = 60_000;
    private static final long BARRIER_TIMEOUT_MILLIS = 30_000;
    /** Each child holds at most this much, so that together they fill the heap now and then. */
    private static final long HELD_LIMIT = 24L << 20;

    /** How long each child churns; -Dshmheap.mp.millis=N makes a longer run by hand. */
    private static final long CHURN_MILLIS = Long.getLong("shmheap.mp.millis", 3_000);

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @Test
    void shouldKeepEveryBlockExclusiveAcrossChildJvms() throws Exception {
        checkExclusiveAcrossChildJvms("mp-exclusive", CHILDREN, CHURN_MILLIS, 0x5EED_0001L);
    }

    @Test
    void shouldKeepEveryBlockExclusiveInASparseHeapAcrossChildJvms() throws Exception {
        // Sparse heaps reserve backing store extent by extent as processes first use it.
        checkExclusiveAcrossChildJvms("mp-sparse", 3, CHURN_MILLIS * 2 / 3, 0x5EED_0004L, CreateOption.SPARSE);
    }

    /**
     * Runs {@code count} churning children on a new heap; while they run, verifies the heap
     * every 100 ms (verify holds every lock, so each report is of one moment and must be clean).
     */
    private void checkExclusiveAcrossChildJvms(String label, int count, long millis, long seed, CreateOption... options) throws Exception {
        Path path = heaps.newPath(label);
        Path control = Files.createTempDirectory(heaps.directory(), "control-");
        List<ChildJvms.Child> children = new ArrayList<>();
        try (ShmHeap heap = ShmHeap.create(path, CAPACITY, options)) {
            long usedBefore = heap.stats().usedBytes();
            int attachedBefore = heap.stats().attachedProcesses();

            startChurners(path, control, children, count, millis, seed, -1);
            List<String> failedReports = new ArrayList<>();
            int verifiedWhileRunning = 0;
            long deadline = System.nanoTime() + (EXIT_TIMEOUT_MILLIS + millis) * 1_000_000L;
            while (children.stream().anyMatch(c -> c.process().isAlive()) && System.nanoTime() - deadline < 0) {
                VerifyReport report = heap.verify();
                if (children.stream().allMatch(c -> c.process().isAlive())) {
                    verifiedWhileRunning++;
                }
                if (!report.ok()) {
                    failedReports.add(report.toString());
                }
                Thread.sleep(100);
            }
            ChildJvms.awaitExit(children, Math.max(1, (deadline - System.nanoTime()) / 1_000_000L));

            long[] windowStarts = new long[count];
            long[] windowEnds = new long[count];
            for (int i = 0; i < children.size(); i++) {
                ChildJvms.Child child = children.get(i);
                assertEquals(0, child.process().exitValue(), () -> "a child found a violation or failed:\n" + child.describe());
                String ops = ChildJvms.lastValue(child.out(), "ops");
                assertNotNull(ops, () -> "no ops= line:\n" + child.describe());
                assertTrue(Long.parseLong(ops) > 0, () -> "child did no operations:\n" + child.describe());
                String[] window = ChildJvms.lastValue(child.out(), "window").split(",");
                windowStarts[i] = Long.parseLong(window[0]);
                windowEnds[i] = Long.parseLong(window[1]);
            }
            long latestStart = Arrays.stream(windowStarts).max().orElseThrow();
            long earliestEnd = Arrays.stream(windowEnds).min().orElseThrow();
            assertTrue(latestStart < earliestEnd, () -> "the children did not run at the same time (latest start " + latestStart
                    + ", earliest end " + earliestEnd + "):\n" + ChildJvms.describeAll(children));

            for (ChildJvms.Child child : children) {
                System.out.println(label + " " + child.name() + ": " + child.out().replace('\n', ' '));
            }
            assertTrue(failedReports.isEmpty(), () -> failedReports.size() + " verify() report(s) taken while the children ran were"
                    + " not ok; first:\n" + failedReports.get(0));
            int runs = verifiedWhileRunning;
            System.out.println(label + ": " + runs + " verify() runs while all children ran");
            assertTrue(runs >= 1, "no verify() run overlapped the children");
            VerifyReport report = heap.verify();
            assertTrue(report.ok(), () -> "verify after the children exited:\n" + report);
            HeapStats stats = heap.stats();
            assertEquals(usedBefore, stats.usedBytes(), () -> "the children freed everything they allocated, yet " + stats);
            assertEquals(attachedBefore, stats.attachedProcesses(), () -> "the children closed the heap, yet " + stats
                    + "; attached " + heap.attachedProcesses());
            long childAllocations = children.stream().mapToLong(c -> Long.parseLong(ChildJvms.lastValue(c.out(), "allocations"))).sum();
            // Each allocation of a child is counted once, by its class or by the buddy (which
            // also counts the slab sets it hands out, hence >=).
            long heapAllocations = stats.buddyAllocations() + stats.sizeClasses().stream().mapToLong(SizeClassStats::allocations).sum();
            assertTrue(heapAllocations >= childAllocations, () -> "the heap counted " + heapAllocations + " allocations, the children made "
                    + childAllocations + ": " + stats);
        } finally {
            ChildJvms.destroyAll(children);
        }
    }

    @Test
    void shouldDetectWritesIntoABlockAnotherProcessHolds() throws Exception {
        // The saboteur keeps writing into blocks after freeing them, as a process does that was
        // handed a block another process holds. The others must notice: this is what shows that
        // the exclusivity test above can fail.
        Path path = heaps.newPath("mp-sabotage");
        Path control = Files.createTempDirectory(heaps.directory(), "control-");
        List<ChildJvms.Child> children = new ArrayList<>();
        int saboteur = 3;
        try (ShmHeap heap = ShmHeap.create(path, CAPACITY)) {
            startChurners(path, control, children, 3, 1_500, 0x5EED_0003L, saboteur);
            ChildJvms.awaitExit(children, EXIT_TIMEOUT_MILLIS);
            List<ChildJvms.Child> victims = children.subList(0, saboteur - 1);
            for (ChildJvms.Child victim : victims) {
                System.out.println(victim.name() + " exit " + victim.process().exitValue() + ": " + victim.err().trim());
            }
            // Only the saboteur writes into blocks it does not hold, so any overwrite is its doing.
            assertTrue(victims.stream().anyMatch(c -> c.process().exitValue() == MultiProcessWorker.EXIT_OVERWRITTEN
                            && c.err().contains("was overwritten while this process held it")),
                    () -> "no child reported the saboteur's writes into its blocks:\n" + ChildJvms.describeAll(children));
            for (ChildJvms.Child victim : victims) {
                int code = victim.process().exitValue();
                assertTrue(code == 0 || code == MultiProcessWorker.EXIT_OVERWRITTEN, () -> "unexpected failure:\n" + victim.describe());
            }
            // Scribbles in the data region never touch the metadata.
            VerifyReport report = heap.verify();
            assertTrue(report.ok(), () -> "verify after the children exited:\n" + report);
        } finally {
            ChildJvms.destroyAll(children);
        }
    }

    /**
     * Starts {@code count} churning children (child {@code saboteur} sabotages; -1 for none),
     * waits until all have opened the heap, then lets them go.
     */
    private static void startChurners(Path heap, Path control, List<ChildJvms.Child> children, int count, long millis, long seed,
                                      int saboteur) throws Exception {
        Path go = control.resolve("go");
        List<Path> ready = new ArrayList<>();
        for (int id = 1; id <= count; id++) {
            Path readyFile = control.resolve("ready-" + id);
            ready.add(readyFile);
            List<Object> args = new ArrayList<>(List.of("churn", heap, id, seed * 31 + id, millis, readyFile, go, HELD_LIMIT));
            if (id == saboteur) {
                args.add("sabotage");
            }
            children.add(ChildJvms.start(control, "churn-" + id, MultiProcessWorker.class, args.toArray()));
        }
        ChildJvms.awaitFiles(ready, children, BARRIER_TIMEOUT_MILLIS);
        Files.createFile(go);
    }
}
