package dev.shmheap;

import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.*;

/** Heap files are private to their owner unless GROUP_ACCESS asks for the group too. */
class FilePermissionsTest {
    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @Test
    void shouldCreateOwnerOnlyFileByDefault() throws IOException {
        assertMode("rw-------");
    }

    @Test
    void shouldCreateGroupReadableWritableFileWithGroupAccess() throws IOException {
        assertMode("rw-rw----", CreateOption.GROUP_ACCESS);
    }

    @Test
    void shouldApplyModeToSparseHeapsToo() throws IOException {
        assertMode("rw-------", CreateOption.SPARSE);
        assertMode("rw-rw----", CreateOption.SPARSE, CreateOption.GROUP_ACCESS);
    }

    @Test
    void shouldKeepModeWhateverTheOpenOrCreatePath() throws IOException {
        Path path = heaps.newPath("mode-ooc");
        try (ShmHeap heap = ShmHeap.openOrCreate(path, 64 * 1024, CreateOption.GROUP_ACCESS)) {
            assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(heap.path())));
        }
        try (ShmHeap heap = ShmHeap.openOrCreate(path, 64 * 1024)) {
            assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(heap.path())),
                    "opening an existing heap must not change its mode");
        }
    }

    private void assertMode(String expected, CreateOption... options) throws IOException {
        Path path = heaps.newPath("mode");
        try (ShmHeap heap = ShmHeap.create(path, 64 * 1024, options)) {
            heap.free(heap.allocate(64));
        }
        assertEquals(expected, PosixFilePermissions.toString(Files.getPosixFilePermissions(path)),
                "mode of a heap created with " + java.util.Arrays.toString(options));
    }
}
