package dev.shmheap;

import dev.shmheap.internal.attach.HeapView;
import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.memory.NativeIo;
import dev.shmheap.internal.pagemap.ExtentReservations;
import dev.shmheap.internal.pagemap.PageMap;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
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
 * file, which a later creator deletes once that creator's process is gone.
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
     * Reads and validates the header of {@code file}, then maps the whole file: read-write, or
     * for an observer that may only read, opened {@code O_RDONLY} (read permission is enough)
     * and mapped {@code PROT_READ}, so that no byte of it can change.
     *
     * @throws java.nio.file.NoSuchFileException if it does not exist
     * @throws HeapFormatException               if it is not a heap of this format, or is truncated or corrupt
     */
    static Mapping map(Path file, boolean readOnly) throws IOException {
        if (readOnly && Files.isDirectory(file)) {
            // O_RDONLY opens a directory (O_RDWR does not): say what a writer's open would say
            throw new java.nio.file.FileSystemException(file.toString(), null, "Is a directory");
        }
        StandardOpenOption[] modes = readOnly ? new StandardOpenOption[] {StandardOpenOption.READ}
                : new StandardOpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE};
        try (FileChannel channel = FileChannel.open(file, modes)) {
            long size = channel.size();
            java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(HeaderDescriptor.HEADER_LENGTH);
            while (header.hasRemaining() && channel.read(header, header.position()) > 0) {
                // read until the header is complete or the file ends
            }
            HeapLayout layout = HeapLayout.read(header.clear(), size, file.toString());
            if (readOnly) {
                return new Mapping(layout, MappedMemory.mapReadOnly(channel, layout.fileLength()), -1);
            }
            NativeIo.load();
            MappedMemory memory = MappedMemory.map(channel, layout.fileLength());
            try {
                return new Mapping(layout, memory, layout.sparse() ? NativeIo.openReadWrite(file.toString()) : -1);
            } catch (RuntimeException e) {
                memory.close();
                throw e;
            }
        }
    }

    /** Builds a heap at {@code target}; throws {@link FileAlreadyExistsException} if it exists. */
    static void create(Path target, HeapLayout layout, boolean groupAccess) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        String name = absolute.getFileName().toString();
        if (Files.exists(absolute)) {
            throw new FileAlreadyExistsException(absolute.toString(), null, "a file already exists there");
        }
        deleteStaleTemporaries(dir, name);
        long token = ProcessIdentity.current();
        Path temp = dir.resolve("." + name + TEMP_MARK + ProcessIdentity.pidOf(token) + "-" + (token & 0xFFFF_FFFFL) + "-" + System.nanoTime());
        Set<PosixFilePermission> mode = PosixFilePermissions.fromString(groupAccess ? "rw-rw----" : "rw-------");
        Files.createFile(temp, PosixFilePermissions.asFileAttribute(mode));
        try {
            Files.setPosixFilePermissions(temp, mode);
            initialize(temp, absolute, layout, token);
            Files.createLink(absolute, temp);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** Builds the heap in {@code temp}; errors name {@code target}, the file the caller asked for. */
    private static void initialize(Path temp, Path target, HeapLayout layout, long token) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(temp.toFile(), "rw")) {
            file.setLength(layout.fileLength());
        }
        int fd = NativeIo.openReadWrite(temp.toString());
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.READ, StandardOpenOption.WRITE);
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
        } finally {
            NativeIo.closeQuietly(fd);
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
