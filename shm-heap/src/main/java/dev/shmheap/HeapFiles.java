package dev.shmheap;

import dev.shmheap.internal.view.HeapView;
import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.memory.NativeIo;
import dev.shmheap.internal.pagemap.ExtentReservations;
import dev.shmheap.internal.pagemap.PageMap;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Creation of heap files, race-free between processes, and their mapping at open.
 *
 * <p>A heap is built completely in a private temporary file beside the target
 * ({@code .NAME.init-PID-START}) and then published with {@code link(2)}, which fails if the
 * target exists. So an opener never sees a half-initialised heap; of several concurrent
 * creators exactly one link succeeds; and a creator that dies leaves only its temporary
 * file, which a later creator deletes once that creator's process is gone. No step follows a
 * symbolic link, and an opener checks the file it opened ({@link FileTrust}) before it maps it.
 */
final class HeapFiles {
    private static final String TEMP_MARK = ".init-";

    private HeapFiles() {
    }

    /** A mapped heap file: its validated layout, the mapping, and for a sparse heap opened read-write a descriptor for fallocate (else -1). */
    record Mapping(HeapLayout layout, MappedMemory memory, int fd) {
        void close() {
            memory.close();
            if (fd >= 0) {
                NativeIo.closeQuietly(fd);
            }
        }

        /** The readers over this mapping of {@code file}; they own it from now on (closing the view unmaps it). */
        HeapView view(Path file) {
            try {
                return new HeapView(file, layout, memory, fd);
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }
    }

    /**
     * Opens {@code file} without following a link (unless {@code options} trust any file),
     * checks the opened file with {@link FileTrust}, reads and validates its header, then maps
     * it whole: read-write, or for an observer that may only read, opened {@code O_RDONLY}
     * (read permission is enough) and mapped {@code PROT_READ}, so that no byte of it can change.
     * Everything after the first open goes through that descriptor, so the file checked is the
     * file mapped.
     *
     * @throws java.nio.file.NoSuchFileException if it does not exist
     * @throws UntrustedHeapFileException        if it is a link, another user's or writable by others
     * @throws HeapFormatException               if it is not a heap of this format, or is truncated or corrupt
     */
    static Mapping map(Path file, boolean readOnly, Set<AttachOption> options) throws IOException {
        try (HeapFileHandle handle = HeapFileHandle.open(file, readOnly, options.contains(AttachOption.TRUST_ANY_FILE))) {
            FileTrust.check(handle, options);
            return map(handle, readOnly);
        }
    }

    private static Mapping map(HeapFileHandle handle, boolean readOnly) throws IOException {
        StandardOpenOption[] modes = readOnly ? new StandardOpenOption[] {StandardOpenOption.READ}
                : new StandardOpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE};
        try (FileChannel channel = FileChannel.open(handle.descriptorPath(), modes)) {
            long size = channel.size();
            ByteBuffer header = ByteBuffer.allocate(HeaderDescriptor.HEADER_LENGTH);
            while (header.hasRemaining() && channel.read(header, header.position()) > 0) {
                // read until the header is complete or the file ends
            }
            HeapLayout layout = HeapLayout.read(header.clear(), size, handle.file().toString());
            if (readOnly) {
                return new Mapping(layout, MappedMemory.mapReadOnly(channel, layout.fileLength()), -1);
            }
            NativeIo.load();
            MappedMemory memory = MappedMemory.map(channel, layout.fileLength());
            try {
                return new Mapping(layout, memory, layout.sparse() ? NativeIo.openReadWrite(handle.descriptorPath().toString()) : -1);
            } catch (RuntimeException e) {
                memory.close();
                throw e;
            }
        }
    }

    /**
     * Builds a heap at {@code target}; throws {@link FileAlreadyExistsException} if anything,
     * even a symbolic link, is there. No step follows a link: the temporary is created with
     * {@code O_CREAT | O_EXCL | O_NOFOLLOW} and then used only through its descriptor, and
     * {@code link(2)} neither follows its source nor overwrites its target.
     */
    static void create(Path target, HeapLayout layout, boolean groupAccess) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        String name = absolute.getFileName().toString();
        if (Files.isSymbolicLink(absolute)) {
            throw new FileAlreadyExistsException(absolute.toString(), null,
                    "a symbolic link (to " + Files.readSymbolicLink(absolute) + ") is there; create never follows a link");
        }
        if (Files.exists(absolute, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(absolute.toString(), null, "a file already exists there");
        }
        deleteStaleTemporaries(dir, name);
        long token = ProcessIdentity.current();
        Path temp = dir.resolve("." + name + TEMP_MARK + ProcessIdentity.pidOf(token) + "-" + (token & 0xFFFF_FFFFL) + "-" + System.nanoTime());
        Set<PosixFilePermission> mode = PosixFilePermissions.fromString(groupAccess ? "rw-rw----" : "rw-------");
        try (HeapFileHandle handle = HeapFileHandle.createNew(temp, mode, absolute)) {
            initialize(handle, absolute, layout, token);
            Files.createLink(absolute, temp);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** Builds the heap in the temporary {@code handle} has open; errors name {@code target}, the file the caller asked for. */
    private static void initialize(HeapFileHandle handle, Path target, HeapLayout layout, long token) throws IOException {
        int fd = handle.fd();
        try (RandomAccessFile file = new RandomAccessFile(handle.descriptorPath().toFile(), "rw")) {
            file.setLength(layout.fileLength());
        }
        try (FileChannel channel = FileChannel.open(handle.descriptorPath(), StandardOpenOption.READ, StandardOpenOption.WRITE);
             MappedMemory memory = MappedMemory.map(channel, layout.fileLength())) {
            reserve(fd, 0, layout.pageMapOffset(), target, "metadata");
            if (!layout.sparse()) {
                reserve(fd, layout.pageMapOffset(), layout.pageMapLength() + layout.holderMapLength(), target, "page map and holder map");
                reserve(fd, layout.dataOffset(), layout.capacity(), target, "data region");
            }
            layout.writeImmutableFields(memory, token, System.currentTimeMillis());
            ExtentReservations reservations = new ExtentReservations(memory, layout, fd);
            if (!layout.sparse()) {
                reservations.markAllReserved();
            }
            if (!new BuddyAllocator(memory, layout, new PageMap(memory, layout, reservations)).initialize()) {
                throw new IOException("cannot create heap file " + target + ": " + reservations.lastFailure());
            }
            memory.putLongVolatile(HeaderDescriptor.MAGIC_OFFSET, HeaderDescriptor.MAGIC);
        }
    }

    private static void reserve(int fd, long offset, long length, Path file, String what) throws IOException {
        int errno = NativeIo.fallocate(fd, offset, length);
        if (errno != 0) {
            throw new IOException("cannot reserve " + length + " bytes of " + what + " for heap file " + file + ": "
                    + NativeIo.describeErrno(errno) + " (use CreateOption.SPARSE to reserve lazily)");
        }
    }

    /** Deletes temporaries of {@code name} whose creating process is gone. */
    private static void deleteStaleTemporaries(Path dir, String name) {
        String prefix = "." + name + TEMP_MARK;
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, p -> p.getFileName().toString().startsWith(prefix))) {
            for (Path candidate : stream) {
                String[] parts = candidate.getFileName().toString().substring(prefix.length()).split("-");
                if (parts.length < 2) {
                    continue;
                }
                try {
                    long creator = (Long.parseLong(parts[0]) << 32) | Long.parseLong(parts[1]);
                    if (!ProcessIdentity.isAlive(creator)) {
                        Files.deleteIfExists(candidate);
                    }
                } catch (NumberFormatException | IOException ignored) {
                    // Not one of ours, or already gone.
                }
            }
        } catch (IOException ignored) {
            // Cleaning up is a courtesy; creation goes on.
        }
    }
}
