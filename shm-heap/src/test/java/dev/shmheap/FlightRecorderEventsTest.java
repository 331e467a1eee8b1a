package dev.shmheap;

import dev.shmheap.internal.layout.HeaderDescriptor;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The heap's JDK Flight Recorder events, recorded in this JVM: a lock taken over from a dead
 * owner (with who and which lock), a dead child JVM's blocks reclaimed, a heap full, a slow
 * allocation over its threshold; and none of them while JFR does not record them.
 */
class FlightRecorderEventsTest {
    private final List<Path> cleanup = new ArrayList<>();
    private final List<ChildJvms.Child> children = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        ChildJvms.destroyAll(children);
        for (Path path : cleanup) {
            if (Files.isDirectory(path)) {
                ChildJvms.deleteRecursively(path);
            } else {
                TestHeaps.delete(path);
            }
        }
    }

    private Path newHeap(String label, long capacity, CreateOption... options) throws Exception {
        Path path = TestHeaps.newPath(label);
        cleanup.add(path);
        ShmHeap.create(path, capacity, options).close();
        return path;
    }

    /** The heap's events. Not listed in a recording's settings, each is on with its own default threshold. */
    private static final List<String> ALL = List.of("dev.shmheap.LockTakeover", "dev.shmheap.DeadProcessReclaim", "dev.shmheap.HeapFull",
            "dev.shmheap.SlowAllocation");

    /** Runs {@code action} while {@code events} are recorded (thresholds 0), the heap's others disabled; returns what was recorded. */
    private List<RecordedEvent> record(List<String> events, ThrowingRunnable action) throws Exception {
        Path file = Files.createTempFile("shmheap-jfr-", ".jfr");
        cleanup.add(file);
        try (Recording recording = new Recording()) {
            ALL.forEach(recording::disable);
            for (String event : events) {
                recording.enable(event).withThreshold(Duration.ZERO).withStackTrace();
            }
            recording.start();
            action.run();
            recording.stop();
            recording.dump(file);
        }
        return RecordingFile.readAllEvents(file);
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    private static List<RecordedEvent> named(List<RecordedEvent> events, String name) {
        return events.stream().filter(e -> e.getEventType().getName().equals(name)).toList();
    }

    @Test
    void shouldRecordALockTakenOverFromADeadOwnerAndItsRepair() throws Exception {
        Path path = newHeap("jfr-takeover", 1 << 20);
        long dead = TestHeaps.deadToken();
        TestHeaps.writeLong(path, HeaderDescriptor.BUDDY_LOCK_OFFSET, dead); // a process died holding the buddy lock
        List<RecordedEvent> events = record(List.of("dev.shmheap.LockTakeover"), () -> {
            try (ShmHeap heap = ShmHeap.open(path)) {
                heap.free(heap.allocate(100_000)); // a buddy block: takes the lock over
            }
        });
        List<RecordedEvent> takeovers = named(events, "dev.shmheap.LockTakeover");
        assertEquals(1, takeovers.size(), events::toString);
        RecordedEvent takeover = takeovers.get(0);
        assertEquals("buddy lock of " + path, takeover.getString("lock"));
        assertEquals(dead >>> 32, takeover.getInt("deadOwnerPid"));
        assertTrue(takeover.getString("deadOwner").startsWith("pid " + (dead >>> 32) + " "), takeover::toString);
        assertEquals("buddy free lists rebuilt from the page map", takeover.getString("repair"));
        assertFalse(takeover.getDuration().isNegative());
    }

    @Test
    void shouldRecordTheReclamationOfADeadProcesssBlocks() throws Exception {
        Path path = newHeap("jfr-reclaim", 16 << 20);
        Path dir = Files.createTempDirectory("shmheap-jfr-holder-");
        cleanup.add(dir);
        Path ready = dir.resolve("ready");
        ChildJvms.Child child = ChildJvms.start(dir, "holder", HolderChild.class, path, ready, 7, 30, 0, 0);
        children.add(child);
        ChildJvms.awaitFiles(List.of(ready), children, 120_000);
        long held = Long.parseLong(Files.readAllLines(ready).get(0).split(" ")[0].substring("held=".length()));
        child.process().destroyForcibly();
        assertTrue(child.process().waitFor(30, TimeUnit.SECONDS), "the holder did not die");

        List<RecordedEvent> events = record(List.of("dev.shmheap.DeadProcessReclaim"), () -> {
            try (ShmHeap heap = ShmHeap.open(path)) {
                assertEquals(30, heap.reclaimDead().reclaimedBlocks());
            }
        });
        List<RecordedEvent> reclaims = named(events, "dev.shmheap.DeadProcessReclaim");
        assertEquals(1, reclaims.size(), events::toString);
        RecordedEvent reclaim = reclaims.get(0);
        assertEquals(path.toString(), reclaim.getString("heap"));
        assertEquals(30, reclaim.getLong("blocks"));
        assertEquals(held, reclaim.getLong("bytes"));
        assertTrue(reclaim.getString("deadProcesses").startsWith(child.process().pid() + " (slot "), reclaim::toString);
    }

    @Test
    void shouldRecordAFullHeapAndSlowAllocations() throws Exception {
        Path path = newHeap("jfr-full", 1 << 20);
        List<RecordedEvent> events = record(List.of("dev.shmheap.HeapFull", "dev.shmheap.SlowAllocation"), () -> {
            try (ShmHeap heap = ShmHeap.open(path)) {
                while (heap.tryAllocate(200_000, 8) != ShmHeap.NO_SPACE) {
                    // fill the heap with 256 KiB blocks until one does not fit
                }
            }
        });
        List<RecordedEvent> full = named(events, "dev.shmheap.HeapFull");
        assertEquals(1, full.size(), events::toString);
        assertEquals(path.toString(), full.get(0).getString("heap"));
        assertEquals(200_000, full.get(0).getLong("size"));
        assertTrue(full.get(0).getStackTrace() != null, "who asked is recorded");
        List<RecordedEvent> slow = named(events, "dev.shmheap.SlowAllocation");
        assertTrue(slow.size() >= 2, "with a threshold of 0 every buddy allocation is recorded: " + slow.size());
        assertEquals(-1, slow.get(slow.size() - 1).getLong("offset"), "the last one found no space");
    }

    @Test
    void shouldRecordNothingOfTheHeapWhenItsEventsAreDisabledInTheRecording() throws Exception {
        Path path = newHeap("jfr-off", 1 << 20);
        List<RecordedEvent> events = record(List.of(), () -> {
            try (ShmHeap heap = ShmHeap.open(path)) {
                while (heap.tryAllocate(200_000, 8) != ShmHeap.NO_SPACE) {
                    // the slow path and a full heap, with the heap's events off
                }
            }
        });
        assertTrue(events.stream().noneMatch(e -> e.getEventType().getName().startsWith("dev.shmheap.")), events::toString);
    }
}
