package dev.shmheap;

import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.*;

/**
 * open, openOrCreate and HeapObserver.open refuse a file that someone else could have planted or may
 * change (a symbolic link, another user's file, a file others may write), naming what they
 * found, unless AttachOption.TRUST_ANY_FILE is given; create never follows a link.
 * The tests run as root, as the build does, and check that root is refused too.
 */
class FileTrustTest {
    private static final long CAPACITY = 64 * 1024;
    /** The uid of "nobody": any uid other than ours would do. */
    private static final int OTHER_UID = 65534;

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    private Path newHeap(String label, CreateOption... options) throws IOException {
        Path path = newPath(label);
        ShmHeap.create(path, CAPACITY, options).close();
        return path;
    }

    private Path newPath(String label) {
        return heaps.newPath(label);
    }

    @Test
    void shouldRefuseWorldWritableHeapNamingModeAndOwner() throws IOException {
        Path path = newHeap("world-writable");
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-rw-rw-"));
        String message = assertRefusedEverywhere(path);
        assertTrue(message.contains("every user may write it"), message);
        assertTrue(message.contains("mode 0666"), message);
        assertTrue(message.contains("owner uid " + FileTrust.Identity.CURRENT.uid()), message);
        assertTrue(message.contains("TRUST_ANY_FILE"), "the message names the way out: " + message);
        assertAcceptedWithTrust(path);
    }

    @Test
    void shouldRefuseSymbolicLinkNamingTarget() throws IOException {
        Path target = newHeap("link-target");
        Path link = newPath("link");
        Files.createSymbolicLink(link, target);
        String message = assertRefusedEverywhere(link);
        assertTrue(message.contains("symbolic link to " + target), message);
        try (ShmHeap heap = ShmHeap.open(link, AttachOption.TRUST_ANY_FILE)) {
            assertEquals(CAPACITY, heap.capacity());
        }
        assertAcceptedWithTrust(link);
    }

    @Test
    void shouldRefuseDanglingSymbolicLinkInsteadOfCreatingThroughIt() throws IOException {
        Path target = newPath("dangling-target");
        Path link = newPath("dangling");
        Files.createSymbolicLink(link, target);
        UntrustedHeapFileException e = assertThrows(UntrustedHeapFileException.class, () -> ShmHeap.openOrCreate(link, CAPACITY));
        assertTrue(e.getMessage().contains("symbolic link to " + target), e.getMessage());
        assertFalse(Files.exists(target), "nothing may be created at the link's target");
    }

    @Test
    void shouldNeverCreateThroughSymbolicLink() throws IOException {
        Path target = newPath("create-target");
        Path link = newPath("create-link");
        Files.createSymbolicLink(link, target);
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class, () -> ShmHeap.create(link, CAPACITY));
        assertTrue(e.getMessage().contains("symbolic link (to " + target + ")"), e.getMessage());
        assertFalse(Files.exists(target), "create must not follow the link");
        assertTrue(Files.isSymbolicLink(link), "the link is left as it was");
    }

    @Test
    void shouldNameTheCallersPathWhenTheDirectoryIsMissing() {
        Path path = heaps.directory().resolve("missing-dir").resolve("x.heap");
        java.nio.file.NoSuchFileException e = assertThrows(java.nio.file.NoSuchFileException.class, () -> ShmHeap.create(path, CAPACITY));
        assertEquals(path.toString(), e.getFile(), "the file asked for, not the temporary");
    }

    @Test
    void shouldNotCreateTheTemporaryThroughALinkPlantedUnderItsName() throws IOException {
        Path target = newPath("planted-target");
        Path temporary = newPath("planted-temporary");
        Files.createSymbolicLink(temporary, target);
        Path asked = newPath("asked");
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                () -> HeapFileHandle.createNew(temporary, PosixFilePermissions.fromString("rw-------"), asked));
        assertEquals(asked.toString(), e.getFile(), "named as the file the caller asked for");
        assertFalse(Files.exists(target), "O_CREAT | O_EXCL | O_NOFOLLOW: nothing is created at the link's target");
    }

    @Test
    void shouldRefuseFileOfAnotherUserEvenToRoot() throws IOException {
        Path path = newHeap("foreign");
        Files.setAttribute(path, "unix:uid", OTHER_UID, LinkOption.NOFOLLOW_LINKS);
        String message = assertRefusedEverywhere(path);
        assertTrue(message.contains("owned by another user and not shared with a group this process is in"), message);
        assertTrue(message.contains("owner uid " + OTHER_UID + ", this process uid " + FileTrust.Identity.CURRENT.uid()), message);
        assertTrue(message.contains("mode 0600"), message);
        assertAcceptedWithTrust(path);
    }

    @Test
    void shouldAcceptGroupHeapOfAnotherUserInOurGroup() throws IOException {
        Path path = newHeap("group", CreateOption.GROUP_ACCESS);
        Files.setAttribute(path, "unix:uid", OTHER_UID, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(path, "unix:gid", FileTrust.Identity.CURRENT.gid(), LinkOption.NOFOLLOW_LINKS);
        try (ShmHeap heap = ShmHeap.open(path)) {
            heap.free(heap.allocate(64));
        }
        try (HeapObserver heap = HeapObserver.open(path)) {
            assertTrue(heap.verify().ok());
        }
    }

    @Test
    void shouldLetObserversReadAnotherUsersHeapSharedWithOurGroup() throws IOException {
        Path path = newHeap("group-read");
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-r-----"));
        Files.setAttribute(path, "unix:uid", OTHER_UID, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(path, "unix:gid", FileTrust.Identity.CURRENT.gid(), LinkOption.NOFOLLOW_LINKS);
        try (HeapObserver heap = HeapObserver.open(path)) {
            assertTrue(heap.verify().ok());
        }
    }

    @Test
    void shouldRefuseGroupHeapOfAnotherUserInAGroupWeAreNotIn() throws IOException {
        Path path = newHeap("other-group", CreateOption.GROUP_ACCESS);
        int foreignGroup = groupWeAreNotIn();
        Files.setAttribute(path, "unix:uid", OTHER_UID, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(path, "unix:gid", foreignGroup, LinkOption.NOFOLLOW_LINKS);
        String message = assertRefusedEverywhere(path);
        assertTrue(message.contains("group gid " + foreignGroup + ", mode 0660"), message);
        assertAcceptedWithTrust(path);
    }

    @Test
    void shouldRefuseOurGroupWritableHeapWhoseGroupWeAreNotIn() throws IOException {
        Path path = newHeap("our-other-group", CreateOption.GROUP_ACCESS);
        Files.setAttribute(path, "unix:gid", groupWeAreNotIn(), LinkOption.NOFOLLOW_LINKS);
        String message = assertRefusedEverywhere(path);
        assertTrue(message.contains("its group may write it and this process is not in that group"), message);
        assertAcceptedWithTrust(path);
    }

    @Test
    void shouldAcceptOwnFilesReadableByOthers() throws IOException {
        Path path = newHeap("readable");
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-r--r--"));
        try (ShmHeap heap = ShmHeap.open(path)) {
            assertEquals(CAPACITY, heap.capacity());
        }
    }

    @Test
    void shouldRefuseFifoWithoutBlocking() throws Exception {
        Path path = newPath("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", path.toString()).start().waitFor());
        java.nio.file.FileSystemException e = assertThrows(java.nio.file.FileSystemException.class,
                () -> HeapObserver.open(path, AttachOption.TRUST_ANY_FILE));
        assertEquals("not a regular file", e.getReason());
    }

    @Test
    void shouldParseEffectiveIdsAndGroupsFromProcStatus() throws IOException {
        Path status = newPath("status");
        Files.writeString(status, "Name:\tjava\nUid:\t1000\t1001\t1001\t1001\nGid:\t50\t51\t51\t51\nGroups:\t4 24 27 \n");
        FileTrust.Identity identity = FileTrust.Identity.ofStatus(status);
        assertEquals(1001, identity.uid());
        assertEquals(51, identity.gid());
        assertTrue(identity.isInGroup(27) && identity.isInGroup(51));
        assertFalse(identity.isInGroup(50), "the real gid is not the effective one");
    }

    /** Refused by open, openOrCreate and HeapObserver.open alike; returns the message. */
    private static String assertRefusedEverywhere(Path path) {
        UntrustedHeapFileException e = assertThrows(UntrustedHeapFileException.class, () -> ShmHeap.open(path));
        assertEquals(path.toString(), e.getFile());
        assertTrue(e.getMessage().startsWith(path + ": refusing to attach: "), e.getMessage());
        assertEquals(e.getMessage(), assertThrows(UntrustedHeapFileException.class, () -> ShmHeap.openOrCreate(path, CAPACITY)).getMessage());
        assertEquals(e.getMessage(), assertThrows(UntrustedHeapFileException.class, () -> HeapObserver.open(path)).getMessage());
        return e.getMessage();
    }

    private static void assertAcceptedWithTrust(Path path) throws IOException {
        try (ShmHeap heap = ShmHeap.open(path, AttachOption.TRUST_ANY_FILE)) {
            heap.free(heap.allocate(64));
        }
        try (ShmHeap heap = ShmHeap.openOrCreate(path, CAPACITY, AttachOption.TRUST_ANY_FILE)) {
            assertEquals(CAPACITY, heap.capacity());
        }
        try (HeapObserver heap = HeapObserver.open(path, AttachOption.TRUST_ANY_FILE)) {
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    private static int groupWeAreNotIn() {
        for (int gid = 65534; gid > 1000; gid--) {
            if (!FileTrust.Identity.CURRENT.isInGroup(gid)) {
                return gid;
            }
        }
        throw new AssertionError("this process is in every group");
    }
}
