package dev.shmheap;

import dev.shmheap.testkit.BlockPattern;
import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Processes killed with SIGKILL while they hold blocks (child JVMs): in a RECLAIM_DEAD heap the
 * used bytes return exactly to the baseline, without it everything is reported and nothing
 * freed; shared and handed-off blocks stay allocated and intact either way.
 */
class ReclaimDeadTest {
    private static final long CAPACITY = 64L << 20;
    private static final int CHILDREN = 3;
    private static final int BLOCKS = 150;
    private static final int SHARED = 5;
    private static final int HANDED_OFF = 3;

    private Path heapFile;
    private Path dir;
    private final List<ChildJvms.Child> children = new ArrayList<>();

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @BeforeEach
    void setUp() throws IOException {
        heapFile = heaps.newPath("reclaim");
        dir = Files.createTempDirectory("shmheap-reclaim-");
    }

    @AfterEach
    void tearDown() throws Exception {
        ChildJvms.destroyAll(children);
        ChildJvms.deleteRecursively(dir);
    }

    /** What the children reported before they were killed. */
    private record Killed(long heldBytes, long keptBytes, int keptBlocks, List<long[]> kept, Map<Long, Long> heldByPid) {
    }

    /** Starts the holders, waits until each holds its blocks, SIGKILLs them all and reaps them. */
    private Killed startAndKill() throws Exception {
        List<Path> readyFiles = new ArrayList<>();
        for (int i = 0; i < CHILDREN; i++) {
            Path ready = dir.resolve("ready-" + i);
            readyFiles.add(ready);
            children.add(ChildJvms.start(dir, "holder-" + i, HolderChild.class, heapFile, ready, 100 + i, BLOCKS, SHARED, HANDED_OFF));
        }
        ChildJvms.awaitFiles(readyFiles, children, 120_000);
        long held = 0;
        long kept = 0;
        int keptBlocks = 0;
        List<long[]> keptList = new ArrayList<>();
        Map<Long, Long> heldByPid = new TreeMap<>();
        for (int i = 0; i < CHILDREN; i++) {
            List<String> lines = Files.readAllLines(readyFiles.get(i));
            String[] head = lines.get(0).split(" ");
            long childHeld = Long.parseLong(head[0].substring("held=".length()));
            held += childHeld;
            heldByPid.put(children.get(i).process().pid(), childHeld);
            kept += Long.parseLong(head[1].substring("kept=".length()));
            keptBlocks += Integer.parseInt(head[2].substring("keptBlocks=".length()));
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.split(":");
                keptList.add(new long[] {Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3])});
            }
        }
        for (ChildJvms.Child child : children) {
            child.process().destroyForcibly(); // SIGKILL
        }
        for (ChildJvms.Child child : children) {
            assertTrue(child.process().waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "child did not die");
        }
        return new Killed(held, kept, keptBlocks, keptList, heldByPid);
    }

    private static void assertKeptIntact(ShmHeap heap, Killed killed) {
        for (long[] block : killed.kept()) {
            assertEquals(block[2], heap.usableSize(block[0]), "kept block at " + block[0] + " is no longer live");
            assertNull(BlockPattern.check(heap, block[0], block[1], block[2], block[3]), "kept block at " + block[0] + " was changed");
        }
    }

    @Test
    void reclaimsEveryBlockOfKilledHoldersAtOpenAndKeepsSharedOnes() throws Exception {
        ShmHeap.create(heapFile, CAPACITY, CreateOption.RECLAIM_DEAD).close();
        Killed killed = startAndKill();
        try (ShmHeap heap = ShmHeap.open(heapFile)) { // the open reclaims
            HeapStats stats = heap.stats();
            assertEquals(killed.keptBytes(), stats.usedBytes(), "used bytes after the open: only the shared and handed-off blocks");
            assertEquals(CHILDREN * (BLOCKS - SHARED - HANDED_OFF), stats.reclaimedBlocks());
            assertEquals(killed.heldBytes(), stats.reclaimedBytes());
            assertEquals(CHILDREN * SHARED, stats.holdings().sharedBlocks());
            assertEquals(CHILDREN * HANDED_OFF, stats.holdings().handedOffBlocks());
            assertTrue(stats.holdings().dead().isEmpty(), "dead holdings left: " + stats.holdings());
            assertEquals(List.of(), heap.attachedProcesses().stream().filter(p -> !p.alive()).toList(), "dead slots left");
            assertKeptIntact(heap, killed);
            VerifyReport report = heap.verify();
            assertTrue(report.ok(), report.toString());
            assertTrue(report.deadHoldings().isEmpty());
            RecoveryReport again = heap.recover();
            assertEquals(0, again.reclaimedBlocks(), "a second pass finds nothing");
            assertEquals(killed.keptBytes(), heap.stats().usedBytes());
        }
    }

    @Test
    void withoutTheOptionReportsPerDeadProcessAndFreesNothingUntilAsked() throws Exception {
        ShmHeap.create(heapFile, CAPACITY).close();
        Killed killed = startAndKill();
        long used = killed.heldBytes() + killed.keptBytes();
        try (ShmHeap heap = ShmHeap.open(heapFile)) {
            assertEquals(used, heap.stats().usedBytes(), "nothing freed at open");
            RecoveryReport recovered = heap.recover();
            assertEquals(0, recovered.reclaimedBlocks());
            assertEquals(used, heap.stats().usedBytes(), "nothing freed by recover()");
            Map<Long, Long> reported = new TreeMap<>();
            recovered.deadHoldings().forEach(p -> reported.put((long) p.pid(), p.bytes()));
            assertEquals(killed.heldByPid(), reported, "recover() reports each dead process's bytes");
            recovered.deadHoldings().forEach(p -> assertEquals(BLOCKS - SHARED - HANDED_OFF, p.blocks()));

            VerifyReport report = heap.verify();
            assertTrue(report.ok(), report.toString());
            Map<Long, Long> verified = new TreeMap<>();
            report.deadHoldings().forEach(p -> verified.put((long) p.pid(), p.bytes()));
            assertEquals(killed.heldByPid(), verified, "verify() reports each dead process's bytes");

            Map<Long, Long> counted = new TreeMap<>();
            heap.stats().holdings().dead().forEach(p -> counted.put((long) p.pid(), p.bytes()));
            assertEquals(killed.heldByPid(), counted, "stats() reports each dead process's bytes");
            assertEquals(CHILDREN, heap.attachedProcesses().stream().filter(p -> !p.alive()).count(), "the dead slots are kept");

            RecoveryReport reclaimed = heap.reclaimDead(); // the user decides
            assertEquals(killed.heldBytes(), reclaimed.reclaimedBytes());
            assertEquals(CHILDREN, reclaimed.deadProcessesRemoved());
            assertEquals(killed.keptBytes(), heap.stats().usedBytes());
            assertKeptIntact(heap, killed);
            assertTrue(heap.verify().ok());
        }
    }

    @Test
    void reclaimsBeforeReportingAFullHeap() throws Exception {
        ShmHeap.create(heapFile, CAPACITY, CreateOption.RECLAIM_DEAD).close();
        try (ShmHeap survivor = ShmHeap.open(heapFile)) { // open before the deaths: no open-time reclaim for it
            Killed killed = startAndKill();
            long fill = 0;
            List<Long> mine = new ArrayList<>();
            // take what the dead left free, then ask for more: only reclamation can serve it
            while (true) {
                long offset = survivor.tryAllocate(1 << 20, 8);
                if (offset == ShmHeap.NO_SPACE) {
                    break;
                }
                mine.add(offset);
                fill += 1 << 20;
            }
            assertTrue(survivor.stats().reclaimedBytes() > 0, "the heap filled up without reclaiming the dead: " + survivor.stats());
            assertTrue(fill > CAPACITY - killed.keptBytes() - 2 * (1 << 20) - killed.heldBytes() / 2,
                    "allocated only " + fill + " of " + CAPACITY);
            for (long offset : mine) {
                survivor.free(offset);
            }
            assertKeptIntact(survivor, killed);
            assertEquals(killed.keptBytes(), survivor.stats().usedBytes());
            assertTrue(survivor.verify().ok());
        }
    }
}
