package dev.shmheap;

import dev.shmheap.testkit.BlockPattern;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Creation races between processes: {@code openOrCreate} from several child JVMs at the same
 * moment, and the clean-up of a temporary file left by a creator that died.
 */
class OpenOrCreateRaceTest {
    private static final int CHILDREN = 4;
    private static final long CAPACITY = 1 << 20;
    private static final int ROUNDS = 3;
    private static final int BLOCKS = 5;
    private static final long BARRIER_TIMEOUT_MILLIS = 30_000;
    private static final long EXIT_TIMEOUT_MILLIS = 60_000;

    /** A block a child allocated and filled: which heap (round), where, and its pattern. */
    private record ChildBlock(int child, int round, long offset, long size, long seq) {
    }

    @Test
    void shouldGiveAllConcurrentOpenersTheSameHeap() throws Exception {
        Path dir = Files.createTempDirectory(TestHeaps.directory(), "shmheap-race-");
        Path control = Files.createTempDirectory(TestHeaps.directory(), "shmheap-race-control-");
        List<ChildJvms.Child> children = new ArrayList<>();
        try {
            for (int id = 1; id <= CHILDREN; id++) {
                // Every child asks for the same capacity (openOrCreate refuses a heap of another
                // one): that all got the same heap shows in their blocks, all live in the one file.
                children.add(ChildJvms.start(control, "race-" + id, MultiProcessWorker.class, "race", dir, id, CAPACITY, control, ROUNDS,
                        BLOCKS));
            }
            for (int r = 0; r < ROUNDS; r++) {
                List<Path> ready = new ArrayList<>();
                for (int id = 1; id <= CHILDREN; id++) {
                    ready.add(control.resolve("ready-" + r + "-" + id));
                }
                ChildJvms.awaitFiles(ready, children, BARRIER_TIMEOUT_MILLIS);
                Files.createFile(control.resolve("go-" + r));
            }
            ChildJvms.awaitExit(children, EXIT_TIMEOUT_MILLIS);
            for (ChildJvms.Child child : children) {
                assertEquals(0, child.process().exitValue(), () -> "openOrCreate or allocate failed in a child:\n" + child.describe());
            }

            Set<String> expectedFiles = new TreeSet<>();
            for (int r = 0; r < ROUNDS; r++) {
                expectedFiles.add("race-" + r + ".heap");
            }
            assertEquals(expectedFiles, listNames(dir), "the directory must hold exactly one heap file per round, no temporaries");

            for (int r = 0; r < ROUNDS; r++) {
                checkRound(dir.resolve("race-" + r + ".heap"), r, children);
            }
        } finally {
            ChildJvms.destroyAll(children);
            ChildJvms.deleteRecursively(dir);
            ChildJvms.deleteRecursively(control);
        }
    }

    /** All children of round r saw one capacity, and all their blocks are live in the one heap file. */
    private static void checkRound(Path heapFile, int r, List<ChildJvms.Child> children) throws IOException {
        Set<Long> capacities = new HashSet<>();
        List<ChildBlock> blocks = new ArrayList<>();
        for (int i = 0; i < children.size(); i++) {
            ChildJvms.Child child = children.get(i);
            String out = child.out();
            String capacity = ChildJvms.lastValue(out, "capacity." + r);
            assertNotNull(capacity, () -> "round " + r + ": no capacity line:\n" + child.describe());
            capacities.add(Long.parseLong(capacity));
            for (String line : out.split("\n")) {
                if (line.startsWith("block." + r + "=")) {
                    String[] f = line.substring(line.indexOf('=') + 1).trim().split(",");
                    blocks.add(new ChildBlock(i + 1, r, Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2])));
                }
            }
        }
        assertEquals(1, capacities.size(), () -> "round " + r + ": the children saw different capacities " + capacities
                + ", so they did not all get the same heap");
        long capacity = capacities.iterator().next();
        assertEquals(CAPACITY, capacity, () -> "round " + r + ": capacity " + capacity + " is not the requested " + CAPACITY);
        assertEquals(CHILDREN * BLOCKS, blocks.size(), () -> "round " + r + ": blocks reported " + blocks);

        try (ShmHeap heap = ShmHeap.open(heapFile)) {
            assertEquals(capacity, heap.capacity(), "round " + r + ": capacity of the heap file");
            assertEquals(1, heap.stats().attachedProcesses(), () -> "round " + r + ": the children closed the heap, yet attached: "
                    + heap.attachedProcesses());
            // The children left their blocks allocated. If any child had worked in a heap other
            // than the published one, its blocks would be missing here.
            long usable = 0;
            for (ChildBlock b : blocks) {
                String problem = BlockPattern.check(heap, b.offset(), b.size(), b.size(), BlockPattern.base(b.child(), b.seq()));
                assertNull(problem, () -> "round " + r + ": block of child " + b.child() + " in " + heapFile + ": " + problem);
                usable += heap.usableSize(b.offset());
            }
            long usableTotal = usable;
            assertEquals(usableTotal, heap.stats().usedBytes(), () -> "round " + r + ": used bytes of " + heapFile
                    + " must be exactly the children's blocks: " + heap.stats());
            VerifyReport report = heap.verify();
            assertTrue(report.ok(), () -> "round " + r + ": " + report);
            for (ChildBlock b : blocks) {
                heap.free(b.offset());
            }
            assertEquals(0, heap.stats().usedBytes(), () -> heap.stats().toString());
            VerifyReport after = heap.verify();
            assertTrue(after.ok(), () -> "round " + r + " after freeing: " + after);
        }
    }

    @Test
    void shouldDeleteTheTemporaryFileOfADeadCreator() throws Exception {
        Path dir = Files.createTempDirectory(TestHeaps.directory(), "shmheap-stale-");
        Process dead = null;
        Process alive = null;
        try {
            Path target = dir.resolve("stale.heap");
            String name = target.getFileName().toString();

            // A creator that died: a process that has exited, and been reaped.
            dead = new ProcessBuilder("cat").start();
            long deadTicks = startTicks(dead.pid());
            dead.getOutputStream().close();
            assertTrue(dead.waitFor(10, TimeUnit.SECONDS), "cat did not exit");
            long deadPid = dead.pid();
            assertFalse(Files.exists(Path.of("/proc", Long.toString(deadPid))) && startTicks(deadPid) == deadTicks,
                    "the exited child must be gone");
            Path stale = dir.resolve("." + name + ".init-" + dead.pid() + "-" + deadTicks + "-" + System.nanoTime());
            Files.write(stale, new byte[8192]);

            // A creator still at work: its temporary must survive.
            alive = new ProcessBuilder("cat").start();
            long aliveTicks = startTicks(alive.pid());
            Path busy = dir.resolve("." + name + ".init-" + alive.pid() + "-" + aliveTicks + "-" + System.nanoTime());
            Files.write(busy, new byte[8192]);

            try (ShmHeap heap = ShmHeap.create(target, 1 << 20)) {
                assertTrue(heap.verify().ok());
            }
            assertFalse(Files.exists(stale), () -> "create left the temporary of the dead pid " + deadPid + " in " + listNamesQuietly(dir));
            assertTrue(Files.exists(busy), () -> "create deleted the temporary of the live pid in " + listNamesQuietly(dir));
            assertEquals(Set.of(name, busy.getFileName().toString()), listNames(dir));
        } finally {
            for (Process p : new Process[] {dead, alive}) {
                if (p != null) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            }
            ChildJvms.deleteRecursively(dir);
        }
    }

    private static Set<String> listNames(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return new TreeSet<>(files.map(p -> p.getFileName().toString()).toList());
        }
    }

    private static String listNamesQuietly(Path dir) {
        try {
            return listNames(dir).toString();
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** Field 22 of /proc/PID/stat: the start time in clock ticks since boot. */
    private static long startTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        return Long.parseLong(fields[19]);
    }
}
