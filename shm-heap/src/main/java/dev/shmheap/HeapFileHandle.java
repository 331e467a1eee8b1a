package dev.shmheap;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/**
 * A heap file opened by descriptor, so that what is checked and what is mapped are the same
 * file whatever happens to the path meanwhile. {@link #descriptorPath()} ({@code /proc/self/fd/N})
 * names the opened file itself: {@code stat} through it is {@code fstat}, and opening it again
 * opens the same inode, not whatever the path now points to.
 *
 * <p>The last component of the path is opened with {@code O_NOFOLLOW} (unless the caller
 * trusts links) and with {@code O_NONBLOCK}, so that a FIFO planted under the heap's name
 * cannot block the opener; on a regular file {@code O_NONBLOCK} has no effect.
 */
final class HeapFileHandle implements AutoCloseable {
    private static final int O_RDONLY = 0;
    private static final int O_RDWR = 2;
    private static final int O_CREAT = 0100;
    private static final int O_EXCL = 0200;
    private static final int O_NONBLOCK = 04000;
    private static final int O_CLOEXEC = 02000000;
    /** Differs by architecture: the generic value (x86-64, RISC-V) and the ARM/PowerPC one. */
    private static final int O_NOFOLLOW = Platform.isARM() || Platform.isPPC() ? 0100000 : 0400000;

    private static final int ENOENT = 2;
    private static final int EACCES = 13;
    private static final int EEXIST = 17;
    private static final int EISDIR = 21;
    private static final int ELOOP = 40;

    private final Path file;
    private final int fd;

    private HeapFileHandle(Path file, int fd) {
        this.file = file;
        this.fd = fd;
    }

    /**
     * Opens an existing file read-only or read-write. With {@code followLinks} false a symbolic
     * link is refused with an {@link UntrustedHeapFileException} naming its target.
     */
    static HeapFileHandle open(Path file, boolean readOnly, boolean followLinks) throws IOException {
        int flags = (readOnly ? O_RDONLY : O_RDWR) | O_NONBLOCK | O_CLOEXEC | (followLinks ? 0 : O_NOFOLLOW);
        try {
            return new HeapFileHandle(file, Libc.open(file.toString(), flags, 0));
        } catch (LastErrorException e) {
            if (e.getErrorCode() == ELOOP && Files.isSymbolicLink(file)) {
                throw new UntrustedHeapFileException(file.toString(), "it is a symbolic link to " + linkTarget(file)
                        + "; attaching never follows a link");
            }
            throw failure(e, file.toString(), "");
        }
    }

    /**
     * Creates {@code file}, which must not exist (not even as a symbolic link, which is never
     * followed), read-write with exactly {@code mode} whatever the umask. Errors name
     * {@code reportedAs}: the file the caller asked for, of which this may be a temporary.
     */
    static HeapFileHandle createNew(Path file, Set<PosixFilePermission> mode, Path reportedAs) throws IOException {
        HeapFileHandle handle;
        try {
            handle = new HeapFileHandle(file, Libc.open(file.toString(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        } catch (LastErrorException e) {
            throw failure(e, reportedAs.toString(), "cannot create its temporary file " + file.getFileName() + ": ");
        }
        try {
            Files.setPosixFilePermissions(handle.descriptorPath(), mode);
            return handle;
        } catch (IOException | RuntimeException e) {
            handle.close();
            throw e;
        }
    }

    /** The path the caller gave. */
    Path file() {
        return file;
    }

    /** The descriptor, for calls such as {@code fallocate}. */
    int fd() {
        return fd;
    }

    /** {@code /proc/self/fd/N}: the opened file itself, for stat and for a second open of the same inode. */
    Path descriptorPath() {
        return Path.of("/proc/self/fd/" + fd);
    }

    @Override
    public void close() {
        try {
            Libc.close(fd);
        } catch (LastErrorException ignored) {
            // Nothing useful to do: the descriptor is gone either way.
        }
    }

    private static String linkTarget(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    /** The exception java.nio would have thrown for this errno, naming {@code file}. */
    private static IOException failure(LastErrorException e, String file, String prefix) {
        String reason = prefix + describe(e);
        return switch (e.getErrorCode()) {
            case ENOENT -> new NoSuchFileException(file, null, prefix.isEmpty() ? null : reason);
            case EACCES -> new AccessDeniedException(file, null, prefix.isEmpty() ? null : reason);
            case EEXIST -> new FileAlreadyExistsException(file, null, reason);
            case EISDIR -> new FileSystemException(file, null, "Is a directory");
            default -> new FileSystemException(file, null, reason);
        };
    }

    /** "No such file or directory (errno 2)" from JNA's "[2] No such file or directory". */
    private static String describe(LastErrorException e) {
        String message = e.getMessage() == null ? "" : e.getMessage().replaceFirst("^\\[\\d+\\]\\s*", "");
        return (message.isEmpty() ? "error" : message) + " (errno " + e.getErrorCode() + ")";
    }

    /** libc's open and close, bound directly by JNA. */
    private static final class Libc {
        static {
            Native.register("c");
        }

        private Libc() {
        }

        static native int open(String path, int flags, int mode) throws LastErrorException;

        static native int close(int fd) throws LastErrorException;
    }
}
