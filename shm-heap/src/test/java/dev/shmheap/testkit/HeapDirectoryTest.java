package dev.shmheap.testkit;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The fixture hands out fresh paths in a directory of its own and deletes everything in it, never following a link. */
class HeapDirectoryTest {
    @Test
    void shouldHandOutPathsThatDoNotExistInOneDirectoryPerTest() throws IOException {
        HeapDirectory heaps = new HeapDirectory();
        Path a = heaps.newPath("a");
        Path b = heaps.newPath("b");
        assertEquals(a.getParent(), b.getParent());
        assertEquals(HeapDirectory.root(), a.getParent().getParent());
        assertFalse(Files.exists(a));
        assertNotEquals(a, b);
        assertNotEquals(a, heaps.newPath("a"), "a fresh path at every call, whatever the label");
        heaps.deleteAll();
        assertNotEquals(a.getParent(), heaps.newPath("a").getParent(), "a new directory after deleteAll");
        heaps.deleteAll();
    }

    @Test
    void shouldDeleteEveryFileTheTestLeftButNotTheTargetOfALink() throws IOException {
        HeapDirectory heaps = new HeapDirectory();
        Path outside = Files.createTempFile("shmheap-link-target", ".heap");
        try {
            Path heap = heaps.newPath("heap");
            Files.write(heap, new byte[4096]);
            Files.writeString(heap.resolveSibling(".heap.heap.init-1-2-3"), "a creation temporary");
            Files.createDirectory(heap.resolveSibling("nested"));
            Files.writeString(heap.resolveSibling("nested").resolve("copy.heap"), "copy");
            Files.createSymbolicLink(heaps.newPath("link"), outside);
            Path directory = heaps.directory();

            heaps.afterEach(null);

            assertFalse(Files.exists(directory, java.nio.file.LinkOption.NOFOLLOW_LINKS), "the directory and all in it are gone");
            assertTrue(Files.exists(outside), "a link is removed, its target left alone");
        } finally {
            Files.deleteIfExists(outside);
        }
    }

    @Test
    void shouldDoNothingWhenNoPathWasHandedOut() throws IOException {
        new HeapDirectory().afterEach(null);
    }
}
