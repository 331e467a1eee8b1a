package dev.shmheap.cli;

import dev.shmheap.HeapObserver;
import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CreateCommandTest {
    @Test
    void shouldCreateAHeapOfTheGivenSize() throws Exception {
        Path file = Cli.newPath("create");
        try {
            Cli.Result result = Cli.run("create", file.toString(), "--size", "1M");
            assertEquals(0, result.exitCode(), result::toString);
            assertTrue(result.out().startsWith("created " + file + ": capacity 1048576 bytes (1 MiB)"), result::toString);
            assertEquals("", result.err());
            try (ShmHeap heap = ShmHeap.open(file)) {
                assertEquals(1L << 20, heap.capacity());
                assertTrue(heap.verify().ok());
            }
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void shouldCreateSparseGroupAccessibleHeapsWithPlainByteSizes() throws Exception {
        Path file = Cli.newPath("create-sparse");
        try {
            Cli.Result result = Cli.run("create", file.toString(), "--size", "2097152", "--sparse", "--group-access");
            assertEquals(0, result.exitCode(), result::toString);
            assertTrue(result.out().contains("sparse"), result::toString);
            assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            try (ShmHeap heap = ShmHeap.open(file)) {
                assertEquals(2L << 20, heap.capacity());
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void shouldRejectABadSizeWithOneClearErrorAndNoFile() throws Exception {
        Path file = Cli.newPath("bad-size");
        Cli.Result result = Cli.run("create", file.toString(), "--size", "12x");
        assertEquals(2, result.exitCode(), result::toString);
        assertEquals("", result.out());
        assertTrue(result.err().startsWith("shm-heap: Invalid value for option '--size': '12x' is not a size"), result::toString);
        assertTrue(result.err().contains("Try 'shm-heap create --help'."), result::toString);
        assertFalse(Files.exists(file));
    }

    @Test
    void shouldRejectASizeOutsideTheHeapRange() throws Exception {
        Path file = Cli.newPath("tiny");
        Cli.Result result = Cli.run("create", file.toString(), "--size", "1k");
        assertEquals(2, result.exitCode(), result::toString);
        assertEquals(1, result.err().lines().count(), result::toString);
        assertTrue(result.err().startsWith("shm-heap: cannot create " + file + " with --size 1024: "), result::toString);
        assertFalse(Files.exists(file));
    }

    @Test
    void shouldRequireTheSize() {
        Cli.Result result = Cli.run("create", Cli.newPath("no-size").toString());
        assertEquals(2, result.exitCode(), result::toString);
        assertTrue(result.err().contains("Missing required option: '--size=SIZE'"), result::toString);
    }

    @Test
    void shouldRefuseToOverwriteAFile() throws Exception {
        Path file = Cli.newPath("exists");
        try {
            Files.writeString(file, "precious");
            Cli.Result result = Cli.run("create", file.toString(), "--size", "1m");
            assertEquals(2, result.exitCode(), result::toString);
            assertEquals("shm-heap: " + file + ": a file already exists there\n", result.err());
            assertEquals("precious", Files.readString(file));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void shouldSayWhenTheDirectoryIsMissing() {
        Path file = Path.of("/dev/shm/no-such-directory-" + ProcessHandle.current().pid(), "x.heap");
        Cli.Result result = Cli.run("create", file.toString(), "--size", "1m");
        assertEquals(2, result.exitCode(), result::toString);
        assertEquals("shm-heap: cannot create " + file + ": directory " + file.getParent() + " does not exist\n", result.err());
    }

    @Test
    void shouldCreateAReclaimDeadHeapWithAProcessQuota() throws Exception {
        Path file = Cli.newPath("create-reclaim");
        try {
            Cli.Result result = Cli.run("create", file.toString(), "--size", "1m", "--reclaim-dead", "--process-quota", "64k");
            assertEquals(0, result.exitCode(), result::toString);
            assertTrue(result.out().endsWith(", reclaims dead processes' blocks, process quota 65536 bytes (64 KiB)\n"), result::toString);
            try (HeapObserver heap = HeapObserver.open(file)) {
                assertEquals(65536, heap.processQuota());
            }
            DeadHolder.leave(file, 2, 8192, 0);
            ShmHeap.open(file).close(); // a RECLAIM_DEAD heap frees the dead holder's blocks when opened
            try (HeapObserver heap = HeapObserver.open(file)) {
                assertEquals(2, heap.stats().reclaimedBlocks());
                assertEquals(0, heap.stats().usedBytes());
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void shouldKeepDeadProcessesBlocksByDefault() throws Exception {
        Path file = Cli.newPath("create-keep");
        try {
            Cli.Result result = Cli.run("create", file.toString(), "--size", "1m");
            assertTrue(result.out().endsWith(", keeps dead processes' blocks, no process quota\n"), result::toString);
            DeadHolder.leave(file, 2, 8192, 0);
            ShmHeap.open(file).close();
            try (HeapObserver heap = HeapObserver.open(file)) {
                assertEquals(0, heap.stats().reclaimedBlocks());
                assertEquals(16384, heap.stats().usedBytes());
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
