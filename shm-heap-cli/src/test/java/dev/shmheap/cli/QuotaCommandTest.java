package dev.shmheap.cli;

import dev.shmheap.HeapObserver;
import dev.shmheap.HeapFullException;
import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuotaCommandTest {
    private Path file;

    @BeforeEach
    void createHeap() throws Exception {
        file = Cli.newPath("quota");
        ShmHeap.create(file, 1 << 20).close();
    }

    @AfterEach
    void deleteHeap() throws Exception {
        Files.deleteIfExists(file);
    }

    @Test
    void shouldShowSetAndRemoveTheQuota() throws Exception {
        Cli.Result none = Cli.run("quota", file.toString());
        assertEquals(0, none.exitCode(), none::toString);
        assertEquals(file + ": no process quota\n", none.out());

        Cli.Result set = Cli.run("quota", file.toString(), "64k");
        assertEquals(0, set.exitCode(), set::toString);
        assertEquals(file + ": process quota 65536 bytes (64 KiB) (was none)\n", set.out());
        try (ShmHeap heap = ShmHeap.open(file)) {
            assertEquals(65536, heap.processQuota());
            heap.allocate(32 << 10);
            HeapFullException e = assertThrows(HeapFullException.class, () -> heap.allocate(64 << 10));
            assertTrue(e.getMessage().contains("quota"), e.getMessage());

            Cli.Result show = Cli.run("quota", file.toString());
            assertEquals(file + ": process quota 65536 bytes (64 KiB)\n", show.out());
            Cli.Result lower = Cli.run("quota", file.toString(), "16K");
            assertEquals(file + ": process quota 16384 bytes (16 KiB) (was 65536 bytes)\n  pid " + ProcessHandle.current().pid()
                    + " already holds 32768 bytes (32 KiB), over the quota: its next allocation fails\n", lower.out());
        }

        Cli.Result removed = Cli.run("quota", file.toString(), "none");
        assertEquals(0, removed.exitCode(), removed::toString);
        assertTrue(removed.out().startsWith(file + ": no process quota (was 16384 bytes)"), removed::toString);
        try (HeapObserver heap = HeapObserver.open(file)) {
            assertEquals(0, heap.processQuota());
        }
    }

    @Test
    void shouldRejectABadSize() {
        Cli.Result result = Cli.run("quota", file.toString(), "lots");
        assertEquals(2, result.exitCode(), result::toString);
        assertTrue(result.err().startsWith("shm-heap: Invalid value for positional parameter at index 1 (SIZE): 'lots' is not a size"),
                result::toString);
    }
}
