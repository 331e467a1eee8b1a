package dev.shmheap.cli;

import dev.shmheap.HeapObserver;
import dev.shmheap.ShmHeap;
import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.ProcessIdentity;
import dev.shmheap.internal.lock.ProcessTable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecoverCommandTest {
    private static final long CLASS_64_LOCK = HeaderDescriptor.classOffset(0, 0, HeaderDescriptor.CLASS_LOCK);

    private Path file;

    @BeforeEach
    void createHeap() throws Exception {
        file = Cli.newPath("recover");
        try (ShmHeap heap = ShmHeap.create(file, 1 << 20)) {
            heap.allocate(64);
            heap.allocate(8192);
        }
    }

    @AfterEach
    void deleteHeap() throws Exception {
        Files.deleteIfExists(file);
    }

    @Test
    void shouldRepairAfterADeadProcessAndSayWhatItDid() throws Exception {
        long stored = Cli.getLong(file, HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET);
        Cli.putLong(file, HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET, stored - 4096);
        Cli.putLong(file, CLASS_64_LOCK, VerifyCommandTest.DEAD_TOKEN);
        Cli.putLong(file, HeaderDescriptor.HEADER_LENGTH + 7L * ProcessTable.SLOT_LENGTH, VerifyCommandTest.DEAD_TOKEN);

        Cli.Result result = Cli.run("recover", file.toString());
        assertEquals(0, result.exitCode(), result::toString);
        assertTrue(result.out().startsWith(file + ": recovered\n"), result::toString);
        assertTrue(result.out().matches("(?s).*\\n  locks taken over from dead processes +1\\n.*"), result::toString);
        // the dead entry holds no block, so attaching (recover's own open) already freed its slot
        assertTrue(result.out().matches("(?s).*\\n  dead processes removed from the process table +[01]\\n.*"), result::toString);
        assertTrue(result.out().matches("(?s).*\\n  blocks of dead processes reclaimed +0\\n  bytes of dead processes reclaimed +0\\n.*"),
                result::toString);
        assertFalse(result.out().contains("kept:"), result::toString);
        assertTrue(result.out().contains("\nblocks of dead processes: kept (the heap was created without --reclaim-dead; "
                + "'shm-heap reclaim' frees them)\n"), result::toString);
        assertTrue(result.out().matches("(?s).*\\n  free buddy blocks relinked on rebuilt free lists +\\d+\\n.*"), result::toString);
        assertTrue(result.out().contains("\nafter recovery, " + file + ": OK\n"), result::toString);
        assertTrue(result.err().startsWith("shm-heap: warning: took over lock of class 64"), "the library's log, one line: " + result);

        assertEquals(0, Cli.getLong(file, CLASS_64_LOCK), "lock released");
        assertEquals(stored, Cli.getLong(file, HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET), "counter rebuilt");
        assertEquals(0, Cli.getLong(file, HeaderDescriptor.HEADER_LENGTH + 7L * ProcessTable.SLOT_LENGTH), "dead entry removed");
        assertEquals(0, Cli.run("verify", file.toString()).exitCode());
    }

    @Test
    void shouldRefuseWhileALiveProcessHoldsALock() throws Exception {
        // This JVM is alive, so a lock word naming it is a live holder that recover must not rob.
        Cli.putLong(file, CLASS_64_LOCK, ProcessIdentity.current());
        try {
            long start = System.nanoTime();
            Cli.Result result = Cli.run("recover", file.toString());
            assertEquals(1, result.exitCode(), result::toString);
            assertEquals("", result.out());
            assertEquals(1, result.err().lines().count(), result::toString);
            assertTrue(result.err().startsWith("shm-heap: cannot recover " + file + ": the lock of class 64"), result::toString);
            assertTrue(result.err().contains("held by live pid " + ProcessHandle.current().pid()), result::toString);
            assertTrue(result.err().contains("nothing was changed"), result::toString);
            assertTrue(System.nanoTime() - start >= 1_000_000_000L, "it waits a second before refusing");
            assertEquals(ProcessIdentity.current(), Cli.getLong(file, CLASS_64_LOCK), "the lock stays with its owner");
        } finally {
            Cli.putLong(file, CLASS_64_LOCK, 0);
        }
    }

    @Test
    void shouldKeepAndListWhatDeadProcessesHoldWithoutReclaimDead() throws Exception {
        long pid = DeadHolder.leave(file, 2, 4096, 0);
        long used = usedBytes();

        Cli.Result result = Cli.run("recover", file.toString());
        assertEquals(0, result.exitCode(), result::toString);
        assertTrue(result.out().matches("(?s).*\\n  blocks of dead processes reclaimed +0\\n.*"), result::toString);
        assertTrue(result.out().contains("\nblocks of dead processes: kept (the heap was created without --reclaim-dead; "
                + "'shm-heap reclaim' frees them)\nkept:\n"), result::toString);
        assertTrue(result.out().matches("(?s).*\\n +\\d+ +" + pid + " +2 +8192 +8 KiB\\n.*"), result::toString);
        assertEquals(used, usedBytes(), "nothing freed");
    }

    @Test
    void shouldReclaimWhatDeadProcessesHeldInAReclaimDeadHeap() throws Exception {
        Files.delete(file);
        try (ShmHeap heap = ShmHeap.create(file, 1 << 20, dev.shmheap.CreateOption.RECLAIM_DEAD)) {
            heap.allocate(64);
        }
        long baseline = usedBytes();
        DeadHolder.leave(file, 3, 4096, 1);
        // recover opens the heap, which in a RECLAIM_DEAD heap frees the dead holder's blocks
        Cli.Result result = Cli.run("recover", file.toString());
        assertEquals(0, result.exitCode(), result::toString);
        assertFalse(result.out().contains("kept:"), result::toString);
        assertTrue(result.out().contains("\nblocks of dead processes: freed (the heap was created with --reclaim-dead)\n"), result::toString);
        assertEquals(baseline + 4096, usedBytes(), "the two held blocks freed, the shared one kept");
        try (HeapObserver heap = HeapObserver.open(file)) {
            assertEquals(2, heap.stats().reclaimedBlocks());
        }
    }

    private long usedBytes() throws Exception {
        try (HeapObserver heap = HeapObserver.open(file)) {
            return heap.stats().usedBytes();
        }
    }
}
