package dev.shmheap.internal.memory;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;

/**
 * The few libc calls Java lacks, bound through JNA direct mapping.
 *
 * <p>posix_fallocate reserves blocks of a file so that later page faults on a shared mapping
 * of it cannot fail with SIGBUS when the filesystem fills up.
 */
public final class NativeIo {
    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 0x80000;

    static {
        Native.register("c");
    }

    private NativeIo() {
    }

    private static native int open(String path, int flags) throws LastErrorException;

    private static native int close(int fd) throws LastErrorException;

    private static native int kill(int pid, int signal) throws LastErrorException;

    private static final int ESRCH = 3;

    /**
     * Whether a process with this pid exists, by {@code kill(pid, 0)}: ESRCH means no; success
     * or EPERM (it exists but belongs to another user) mean yes.
     */
    public static boolean processExists(int pid) {
        try {
            kill(pid, 0);
            return true;
        } catch (LastErrorException e) {
            return e.getErrorCode() != ESRCH;
        }
    }

    /** Returns 0 or an errno value; it does not set errno. */
    private static native int posix_fallocate(int fd, long offset, long length);

    /**
     * Loads the native bindings now. The first JNA call in a JVM costs a few hundred
     * milliseconds; a heap pays it when it opens, not while a waiter that must check a dead
     * lock owner's liveness holds everyone up.
     */
    public static void load() {
        // The static initialiser has run by the time this returns.
    }

    /** Opens {@code path} read-write and returns the file descriptor. */
    public static int openReadWrite(String path) {
        try {
            return open(path, O_RDWR | O_CLOEXEC);
        } catch (LastErrorException e) {
            throw new IllegalStateException("open(" + path + ") failed: errno " + e.getErrorCode(), e);
        }
    }

    public static void closeQuietly(int fd) {
        try {
            close(fd);
        } catch (LastErrorException ignored) {
            // Nothing useful to do: the descriptor is gone either way.
        }
    }

    /**
     * Reserves {@code [offset, offset + length)} of the file; returns 0 on success or the errno
     * (ENOSPC = 28 when the filesystem is full).
     */
    public static int fallocate(int fd, long offset, long length) {
        return posix_fallocate(fd, offset, length);
    }

    public static final int ENOSPC = 28;

    public static String describeErrno(int errno) {
        return switch (errno) {
            case ENOSPC -> "ENOSPC (no space left on device)";
            case 27 -> "EFBIG (file too large)";
            case 95 -> "EOPNOTSUPP (not supported by the filesystem)";
            case 22 -> "EINVAL (invalid argument)";
            default -> "errno " + errno;
        };
    }
}
