package dev.shmheap;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Backing-store reservation on a filesystem that is too small, a 4 MiB tmpfs mounted for this
 * class: a default heap reserves its whole file at creation and fails cleanly when it cannot;
 * a SPARSE heap reserves lazily and reports a full filesystem as {@link HeapFullException}
 * (a SIGBUS here would kill the test JVM), staying usable afterwards.
 */
class SparseReservationTest {
    private static final long FS_SIZE = 4 << 20;
    private static final long BLOCK = 64 * 1024;
    private static final long PAGE = 4096;

    private static Path mountPoint;
    private static boolean mounted;

    @BeforeAll
    static void mountSmallTmpfs() throws IOException {
        mountPoint = Files.createTempDirectory("shmheap-tmpfs-");
        String result = run("mount", "-t", "tmpfs", "-o", "size=" + (FS_SIZE >> 20) + "m,mode=0700", "tmpfs", mountPoint.toString());
        mounted = result == null;
        if (!mounted) {
            Files.deleteIfExists(mountPoint);
        }
        assumeTrue(mounted, "skipped: cannot mount a " + (FS_SIZE >> 20) + " MiB tmpfs at " + mountPoint
                + " (these tests need root and mount(8)): " + result);
    }

    @AfterAll
    static void unmount() throws IOException {
        if (mounted) {
            String result = run("umount", mountPoint.toString());
            assertNull(result, "umount " + mountPoint);
            Files.deleteIfExists(mountPoint);
        }
    }

    @Test
    void shouldFailDefaultCreateThatDoesNotFitWithClearIOExceptionAndNoLeftovers() throws IOException {
        Path path = mountPoint.resolve("too-big.heap");
        try {
            IOException e = assertThrows(IOException.class, () -> ShmHeap.create(path, 16L << 20));
            System.out.println("SparseReservationTest: default create on a full filesystem: " + e.getMessage());
            assertFalse(e instanceof java.nio.file.FileAlreadyExistsException, e.toString());
            assertTrue(e.getMessage().contains("ENOSPC"), "says why: " + e.getMessage());
            assertTrue(e.getMessage().contains(path.getFileName().toString()), "names the file: " + e.getMessage());
            assertTrue(e.getMessage().contains("SPARSE"), "suggests the way out: " + e.getMessage());
            assertEquals(List.of(), filesIn(mountPoint), "create left files behind");
            assertTrue(usedBytes() < 64 * 1024, "the failed create still holds " + usedBytes() + " bytes of the filesystem");
            assertThrows(java.nio.file.NoSuchFileException.class, () -> ShmHeap.open(path));
        } finally {
            Files.deleteIfExists(path);
        }
    }

    @Test
    void shouldNameTheRequestedPathNotATemporaryWhenCreateCannotReserve() throws IOException {
        Path path = mountPoint.resolve("named.heap");
        try {
            IOException e = assertThrows(IOException.class, () -> ShmHeap.create(path, 16L << 20));
            assertTrue(e.getMessage().contains(path.toString()), "names " + path + ": " + e.getMessage());
            assertFalse(e.getMessage().contains(".init-"), "names a temporary file that no longer exists: " + e.getMessage());
        } finally {
            Files.deleteIfExists(path);
        }
    }

    @Test
    void shouldReserveTheWholeFileByDefault() throws IOException {
        Path path = mountPoint.resolve("reserved.heap");
        try {
            long capacity = 1 << 20;
            try (ShmHeap heap = ShmHeap.create(path, capacity)) {
                assertTrue(LargeSparseHeapTest.allocatedBytes(path) >= capacity, "a default heap reserves its data region at creation: "
                        + LargeSparseHeapTest.allocatedBytes(path) + " bytes allocated");
                long block = heap.allocate(capacity);
                touchEveryPage(heap, block, capacity);
                heap.free(block);
                assertTrue(heap.verify().ok());
            }
        } finally {
            Files.deleteIfExists(path);
        }
        assertEquals(List.of(), filesIn(mountPoint));
    }

    @Test
    void shouldReportFullFilesystemAsHeapFullAndStayUsable() throws IOException {
        Path path = mountPoint.resolve("sparse.heap");
        long capacity = 64L << 20;
        try (ShmHeap heap = ShmHeap.create(path, capacity, CreateOption.SPARSE)) {
            long allocated = LargeSparseHeapTest.allocatedBytes(path);
            System.out.printf("SparseReservationTest: a %d MiB sparse heap holds %d KiB after create (filesystem: %d KiB used)%n",
                    capacity >> 20, allocated >> 10, usedBytes() >> 10);
            assertTrue(allocated < 256 * 1024, "a sparse heap reserves only metadata at creation, not " + allocated + " bytes");
            assertTrue(usedBytes() < 256 * 1024, "filesystem use after create: " + usedBytes());

            List<Long> blocks = new ArrayList<>();
            List<Long> small = new ArrayList<>();
            HeapFullException full = null;
            for (int i = 0; i < 10_000 && full == null; i++) {
                try {
                    long block = heap.allocate(BLOCK);
                    touchEveryPage(heap, block, BLOCK);
                    blocks.add(block);
                    long s = heap.allocate(100);
                    heap.putLong(s, s);
                    small.add(s);
                } catch (HeapFullException e) {
                    full = e;
                }
            }
            assertNotNull(full, "the heap kept allocating beyond a " + FS_SIZE + "-byte filesystem");
            System.out.println("SparseReservationTest: " + blocks.size() + " blocks of " + BLOCK + " bytes, then: " + full.getMessage());
            assertTrue(full.getMessage().contains("ENOSPC"), "names the reservation failure: " + full.getMessage());
            assertTrue(full.availableBytes() > capacity / 2, "the heap itself is far from full: " + full.availableBytes());
            assertTrue(blocks.size() * BLOCK < FS_SIZE, blocks.size() + " blocks cannot fit the filesystem");
            assertTrue(blocks.size() * BLOCK >= FS_SIZE / 2, "only " + blocks.size() + " blocks fit a " + FS_SIZE + "-byte filesystem");
            assertEquals(ShmHeap.NO_SPACE, heap.tryAllocate(BLOCK, 8));
            assertTrue(heap.verify().ok(), heap.verify().toString());

            // Freeing makes room again: the freed block's extent stays reserved.
            long freed = blocks.remove(blocks.size() / 2);
            heap.free(freed);
            long again = heap.allocate(BLOCK);
            touchEveryPage(heap, again, BLOCK);
            blocks.add(again);
            assertEquals(ShmHeap.NO_SPACE, heap.tryAllocate(BLOCK, 8));
            VerifyReport report = heap.verify();
            assertTrue(report.ok(), report.toString());

            for (long block : blocks) {
                checkEveryPage(heap, block, BLOCK);
                heap.free(block);
            }
            for (long s : small) {
                assertEquals(s, heap.getLong(s));
                heap.free(s);
            }
            assertEquals(0, heap.stats().usedBytes());
            report = heap.verify();
            assertTrue(report.ok(), report.toString());
            // Reserved extents are kept: the same amount fits again without new reservations.
            for (int i = 0; i < blocks.size(); i++) {
                touchEveryPage(heap, heap.allocate(BLOCK), BLOCK);
            }
            assertTrue(heap.verify().ok());
        } finally {
            Files.deleteIfExists(path);
        }
        assertEquals(List.of(), filesIn(mountPoint));
    }

    @Test
    void shouldRecoverWhenFilesystemSpaceReturns() throws IOException {
        Path path = mountPoint.resolve("sparse-filler.heap");
        Path filler = mountPoint.resolve("filler");
        try (ShmHeap heap = ShmHeap.create(path, 16L << 20, CreateOption.SPARSE)) {
            fillFilesystem(filler);
            HeapFullException e = assertThrows(HeapFullException.class, () -> heap.allocate(BLOCK));
            assertTrue(e.getMessage().contains("ENOSPC"), e.getMessage());
            assertEquals(ShmHeap.NO_SPACE, heap.tryAllocate(2 * BLOCK, 8));
            assertTrue(heap.verify().ok(), heap.verify().toString());

            Files.delete(filler);
            long block = heap.allocate(BLOCK);
            touchEveryPage(heap, block, BLOCK);
            checkEveryPage(heap, block, BLOCK);
            heap.free(block);
            VerifyReport report = heap.verify();
            assertTrue(report.ok(), report.toString());
        } finally {
            Files.deleteIfExists(filler);
            Files.deleteIfExists(path);
        }
    }

    /**
     * The accessors check only that an access lies in the data region. On a sparse heap, memory
     * of an extent that was never reserved has no backing store: on a full filesystem touching
     * it faults (SIGBUS). Such an offset was never handed out, so this is misuse, and misuse
     * must get a clear exception. Runs in a child JVM so that a crash cannot take this one down.
     */
    @Test
    void shouldRejectAccessToUnreservedMemoryOfSparseHeapClearly() throws Exception {
        Path path = mountPoint.resolve("unreserved.heap");
        Path filler = mountPoint.resolve("filler-unreserved");
        Path errorFile = Path.of(System.getProperty("java.io.tmpdir"), "shmheap-probe-hs_err-" + ProcessHandle.current().pid() + ".log");
        try {
            long unreserved;
            try (ShmHeap heap = ShmHeap.create(path, 64L << 20, CreateOption.SPARSE)) {
                heap.putLong(heap.allocate(100), 7);
                unreserved = heap.fileLength() - heap.capacity() + (32L << 20);
            }
            fillFilesystem(filler);
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.add("-XX:ErrorFile=" + errorFile);
            command.add("-XX:-CreateCoredumpOnCrash");
            command.addAll(JvmFlags.required());
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), UnreservedAccessProbe.class.getName(), path.toString(),
                    Long.toString(unreserved)));
            Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(child.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "child did not finish:\n" + output);
            System.out.println("SparseReservationTest: access to unreserved memory on a full filesystem:\n" + output);
            assertEquals(0, child.exitValue(), "the child JVM died (SIGBUS?):\n" + output);
            assertTrue(output.contains("probe done"), output);
            assertFalse(output.contains("UNCLEAR"), "accesses to unreserved memory did not fail with a documented exception:\n" + output);

            Files.delete(filler);
            try (ShmHeap heap = ShmHeap.open(path)) {
                VerifyReport report = heap.verify();
                assertTrue(report.ok(), report.toString());
            }
        } finally {
            Files.deleteIfExists(errorFile);
            Files.deleteIfExists(filler);
            Files.deleteIfExists(path);
        }
    }

    /** Run in a child JVM: accesses unreserved memory of a sparse heap and says how each access ended. */
    static final class UnreservedAccessProbe {
        public static void main(String[] args) throws IOException {
            long offset = Long.parseLong(args[1]);
            try (ShmHeap heap = ShmHeap.open(Path.of(args[0]))) {
                probe("getLong", () -> heap.getLong(offset));
                probe("putLong", () -> heap.putLong(offset + PAGE, 1));
                probe("getBytes", () -> heap.getBytes(offset + 2 * PAGE, new byte[16], 0, 16));
                probe("putBytes", () -> heap.putBytes(offset + 3 * PAGE, new byte[16], 0, 16));
                probe("compareAndSetLong", () -> heap.compareAndSetLong(offset + 4 * PAGE, 0, 1));
            }
            System.out.println("probe done");
        }

        private static void probe(String what, Runnable access) {
            try {
                access.run();
                System.out.println(what + ": no exception (UNCLEAR: the filesystem is full, so the access cannot have been backed)");
            } catch (IndexOutOfBoundsException | IllegalArgumentException | IllegalStateException | ShmHeapException e) {
                System.out.println(what + ": clear " + e);
            } catch (Throwable t) {
                System.out.println(what + ": UNCLEAR " + t);
            }
        }
    }

    // ---- helpers ----

    /** Writes a word into every page of the block: a page without backing store would SIGBUS here. */
    private static void touchEveryPage(ShmHeap heap, long block, long length) {
        for (long page = 0; page < length; page += PAGE) {
            heap.putLong(block + page, block + page);
        }
        heap.putLong(block + length - 8, ~block);
    }

    private static void checkEveryPage(ShmHeap heap, long block, long length) {
        for (long page = 0; page < length; page += PAGE) {
            assertEquals(block + page, heap.getLong(block + page), "page at " + (block + page));
        }
        assertEquals(~block, heap.getLong(block + length - 8));
    }

    /** Takes whatever space the filesystem has left, 4 KiB at a time. */
    private static void fillFilesystem(Path filler) throws IOException {
        byte[] chunk = new byte[(int) PAGE];
        java.util.Arrays.fill(chunk, (byte) 0x5A);
        try (RandomAccessFile file = new RandomAccessFile(filler.toFile(), "rw")) {
            while (true) {
                try {
                    file.write(chunk);
                } catch (IOException full) {
                    return;
                }
            }
        }
    }

    private static long usedBytes() throws IOException {
        FileStore store = Files.getFileStore(mountPoint);
        return store.getTotalSpace() - store.getUnallocatedSpace();
    }

    private static List<Path> filesIn(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.toList();
        }
    }

    /** Runs a command; returns null on success, else its exit code and output. */
    private static String run(String... command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            int rc = process.waitFor();
            return rc == 0 ? null : "exit " + rc + ": " + out;
        } catch (IOException e) {
            return e.toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return e.toString();
        }
    }
}
