package dev.shmheap;

import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.*;

/** open and create refuse bad files and bad arguments with an exception that says what is wrong. */
class OpenErrorsTest {
    private static final long CAPACITY = 256 * 1024;

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @Test
    void shouldRefuseMissingFileNamingIt() {
        Path path = heaps.newPath("missing");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> ShmHeap.open(path));
        assertEquals(path.toString(), e.getFile());
        assertTrue(e.getMessage().contains(path.toString()), e.getMessage());
        assertFalse(Files.exists(path), "open must not create the file");
    }

    @Test
    void shouldNameTheUsersPathWhenItsDirectoryIsMissing() {
        Path dir = heaps.newPath("no-such-dir");
        Path path = dir.resolve("x.heap");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> ShmHeap.create(path, CAPACITY));
        assertEquals(path.toString(), e.getFile());
        assertTrue(e.getMessage().contains("directory " + dir + " does not exist"), e.getMessage());
        assertFalse(e.getMessage().contains(".init-"), "the temporary file is ours, not the user's: " + e.getMessage());
        NoSuchFileException viaOpenOrCreate = assertThrows(NoSuchFileException.class, () -> ShmHeap.openOrCreate(path, CAPACITY));
        assertEquals(path.toString(), viaOpenOrCreate.getFile());
        assertFalse(Files.exists(dir));
    }

    @Test
    void shouldRefuseOpenOrCreateOfAHeapWithAnotherCapacityNamingBoth() throws IOException {
        Path path = heaps.newPath("other-capacity");
        try (ShmHeap existing = ShmHeap.create(path, CAPACITY)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ShmHeap.openOrCreate(path, 4 * CAPACITY));
            assertTrue(e.getMessage().contains(path.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("capacity " + CAPACITY + " bytes"), e.getMessage());
            assertTrue(e.getMessage().contains(4 * CAPACITY + " bytes asked for"), e.getMessage());
            assertEquals(1, existing.attachedProcesses().size(), "the refused open must not register");
            // the same capacity, also as the unrounded request create would round to it, opens the heap
            try (ShmHeap same = ShmHeap.openOrCreate(path, CAPACITY - 100)) {
                assertEquals(CAPACITY, same.capacity());
            }
            assertTrue(existing.verify().ok());
        }
    }

    @Test
    void shouldRefuseFileOfRandomBytes() throws IOException {
        byte[] random = new byte[64 * 1024];
        new Random(42).nextBytes(random);
        assertNotAHeap(random);
    }

    @Test
    void shouldRefuseEmptyFile() throws IOException {
        assertNotAHeap(new byte[0]);
    }

    @Test
    void shouldRefuseTenByteFile() throws IOException {
        assertNotAHeap("0123456789".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }

    @Test
    void shouldRefuseZeroFilledHeaderSizedFile() throws IOException {
        assertNotAHeap(new byte[HeaderDescriptor.HEADER_LENGTH * 2]);
    }

    @Test
    void shouldCallTenByteFileWithHeapMagicTruncated() throws IOException {
        byte[] bytes = new byte[10];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, HeaderDescriptor.MAGIC);
        Path path = heaps.newPath("magic10");
        Files.write(path, bytes);
        assertFormatError(path, "truncated");
    }

    @Test
    void shouldRefuseOtherFormatVersionEvenWithValidChecksum() throws IOException {
        Path path = heaps.newPath("version");
        createAndClose(path);
        int otherVersion = HeaderDescriptor.FORMAT_VERSION + 1;
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer header = ByteBuffer.allocate(HeaderDescriptor.IMMUTABLE_LENGTH + 8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, header);
            header.putInt(HeaderDescriptor.FORMAT_VERSION_OFFSET, otherVersion);
            CRC32C crc = new CRC32C();
            crc.update(header.array(), 0, HeaderDescriptor.IMMUTABLE_LENGTH);
            header.putLong(HeaderDescriptor.CHECKSUM_OFFSET, crc.getValue());
            header.clear();
            while (header.hasRemaining()) {
                channel.write(header, header.position());
            }
        }
        HeapFormatException e = assertFormatError(path, "version");
        assertTrue(e.getMessage().contains(Integer.toString(otherVersion)), "names the version found: " + e.getMessage());
        assertTrue(e.getMessage().contains(Integer.toString(HeaderDescriptor.FORMAT_VERSION)),
                "names the version expected: " + e.getMessage());
        assertFalse(e.getMessage().contains("checksum"), "the version check fires, not the checksum: " + e.getMessage());
    }

    @Test
    void shouldRefuseTruncatedHeap() throws IOException {
        Path path = heaps.newPath("truncated");
        long fileLength = createAndClose(path);
        for (long length : new long[] {fileLength - 1, fileLength - 4096, fileLength / 2, HeaderDescriptor.HEADER_LENGTH,
                HeaderDescriptor.HEADER_LENGTH - 1, 100}) {
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
                channel.truncate(length);
            }
            HeapFormatException e = assertFormatError(path, "truncated");
            assertTrue(e.getMessage().contains(Long.toString(length)), "names the length found: " + e.getMessage());
        }
    }

    @Test
    void shouldRefuseHeapFileLongerThanItsHeaderSays() throws IOException {
        Path path = heaps.newPath("grown");
        long fileLength = createAndClose(path);
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap(new byte[1]), fileLength + 4095);
        }
        HeapFormatException e = assertFormatError(path, Long.toString(fileLength + 4096));
        assertTrue(e.getMessage().contains(Long.toString(fileLength)), e.getMessage());
    }

    @Test
    void shouldRefuseCreateOverExistingHeapLeavingItUntouched() throws IOException {
        Path path = heaps.newPath("exists");
        long offset;
        try (ShmHeap heap = ShmHeap.create(path, CAPACITY)) {
            offset = heap.allocate(100);
            heap.putLong(offset, 0x1234_5678_9ABCL);
        }
        byte[] before = Files.readAllBytes(path);
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class, () -> ShmHeap.create(path, CAPACITY));
        assertTrue(e.getMessage().contains(path.toAbsolutePath().toString()), e.getMessage());
        assertThrows(FileAlreadyExistsException.class, () -> ShmHeap.create(path, 4 * CAPACITY, CreateOption.SPARSE));
        assertArrayEquals(before, Files.readAllBytes(path), "the existing heap file changed");
        assertEquals(List.of(), temporariesOf(path));
        try (ShmHeap heap = ShmHeap.open(path)) {
            assertEquals(0x1234_5678_9ABCL, heap.getLong(offset));
            assertTrue(heap.verify().ok());
        }
    }

    @Test
    void shouldRefuseCreateOverExistingOtherFileLeavingItUntouched() throws IOException {
        Path path = heaps.newPath("exists-other");
        byte[] content = "not a heap, but somebody's data".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        Files.write(path, content);
        assertThrows(FileAlreadyExistsException.class, () -> ShmHeap.create(path, CAPACITY));
        assertArrayEquals(content, Files.readAllBytes(path));
        assertEquals(List.of(), temporariesOf(path));
    }

    @Test
    void shouldRejectCapacityOutOfRangeWithoutCreatingAFile() throws IOException {
        Path path = heaps.newPath("capacity");
        for (long capacity : new long[] {32 * 1024 - 1, 4096, 0, -1, Long.MIN_VALUE, (1L << 40) + 1, Long.MAX_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ShmHeap.create(path, capacity),
                    "capacity " + capacity);
            assertTrue(e.getMessage().contains(Long.toString(capacity)), "names the capacity: " + e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ShmHeap.create(path, capacity, CreateOption.SPARSE));
            assertFalse(Files.exists(path), "a file was left after capacity " + capacity);
            assertEquals(List.of(), temporariesOf(path));
        }
        try (ShmHeap heap = ShmHeap.create(path, 32 * 1024)) {
            assertEquals(32 * 1024, heap.capacity());
            assertTrue(heap.verify().ok());
        }
    }

    // ---- helpers ----

    private void assertNotAHeap(byte[] content) throws IOException {
        Path path = heaps.newPath("not-a-heap");
        Files.write(path, content);
        assertFormatError(path, "not a shm-heap file");
        assertArrayEquals(content, Files.readAllBytes(path), "open changed a file that is not a heap");
    }

    private static HeapFormatException assertFormatError(Path path, String keyword) {
        HeapFormatException e = assertThrows(HeapFormatException.class, () -> ShmHeap.open(path));
        assertNotNull(e.getMessage());
        assertTrue(e.getMessage().contains(path.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(keyword), "says '" + keyword + "': " + e.getMessage());
        return e;
    }

    private static long createAndClose(Path path) throws IOException {
        try (ShmHeap heap = ShmHeap.create(path, CAPACITY)) {
            heap.allocate(64);
            return heap.fileLength();
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, buffer.position()) < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    /** The ".NAME.init-*" temporaries of {@code path} that HeapFiles left behind. */
    static List<Path> temporariesOf(Path path) throws IOException {
        Path absolute = path.toAbsolutePath();
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(absolute.getParent(), "." + absolute.getFileName() + ".init-*")) {
            stream.forEach(found::add);
        }
        return found;
    }
}
