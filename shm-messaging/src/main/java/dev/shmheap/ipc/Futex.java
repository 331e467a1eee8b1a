package dev.shmheap.ipc;

import com.sun.jna.Native;
import com.sun.jna.Platform;

/**
 * Linux futex wait/wake on a 32-bit word of a shared mapping, through {@code syscall(2)} bound
 * with JNA direct mapping.
 *
 * <p>The operations are FUTEX_WAIT (0) and FUTEX_WAKE (1) <em>without</em>
 * FUTEX_PRIVATE_FLAG: the word is in a file mapping shared between processes, and a private
 * futex is keyed by (process, address) so a wake from another process would never reach the
 * sleeper. The kernel keys a shared futex by the file page and offset, so every process may map
 * the file at its own address.
 *
 * <p>{@code syscall} is variadic in C; it is declared here with fixed {@code long} arguments.
 * That is call-compatible on x86_64 and aarch64 Linux (integer arguments in the same registers
 * either way; glibc's {@code syscall} only moves them into the kernel's registers). On any other
 * platform {@link #AVAILABLE} is false and callers fall back to timed parking.
 */
final class Futex {
    private static final int FUTEX_WAIT = 0;
    private static final int FUTEX_WAKE = 1;
    static final int EAGAIN = 11;
    static final int EINTR = 4;
    static final int ETIMEDOUT = 110;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    /** SYS_futex of this architecture, or -1 where futexes are not used. */
    private static final long SYS_FUTEX = syscallNumber();

    /** True where {@link #await} really sleeps in the kernel. */
    static final boolean AVAILABLE = SYS_FUTEX > 0 && register();

    private Futex() {
    }

    private static long syscallNumber() {
        if (!Platform.isLinux()) {
            return -1;
        }
        return switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> 202;
            case "aarch64" -> 98;
            default -> -1;
        };
    }

    private static boolean register() {
        try {
            Native.register(Futex.class, Platform.C_LIBRARY_NAME);
            return true;
        } catch (LinkageError | RuntimeException e) {
            return false;
        }
    }

    /**
     * The raw system call: -1 on failure, with errno in {@link Native#getLastError()}. Declared
     * without {@code throws LastErrorException}: a timed-out wait is the normal case, and an
     * exception per wait would allocate its stack trace each time the consumer sleeps.
     */
    private static native long syscall(long number, long address, long operation, long value, long timeout);

    /**
     * Sleeps while the int at {@code address} equals {@code expected}, at most
     * {@code timeoutNanos}; returns early when woken, when the word differs on entry, on a
     * signal or spuriously. Callers re-check their condition in every case.
     *
     * Allocates nothing.
     *
     * @param timespec address of 16 writable bytes for the relative timeout (struct timespec)
     * @return 0 when woken, else the errno (EAGAIN, ETIMEDOUT, EINTR)
     * @throws IllegalStateException for any other error (a bad address or no futex support)
     */
    static int await(long address, int expected, long timeoutNanos, long timespec) {
        ChannelMemory.putLongAt(timespec, timeoutNanos / NANOS_PER_SECOND);
        ChannelMemory.putLongAt(timespec + Long.BYTES, timeoutNanos % NANOS_PER_SECOND);
        if (syscall(SYS_FUTEX, address, FUTEX_WAIT, expected, timespec) == 0) {
            return 0;
        }
        int errno = Native.getLastError();
        if (errno == EAGAIN || errno == EINTR || errno == ETIMEDOUT) {
            return errno;
        }
        throw new IllegalStateException("futex wait on address " + Long.toHexString(address) + " failed: errno " + errno);
    }

    /** Wakes up to {@code count} sleepers on the int at {@code address}; returns how many woke. */
    static int wake(long address, int count) {
        long woken = syscall(SYS_FUTEX, address, FUTEX_WAKE, count, 0);
        if (woken < 0) {
            throw new IllegalStateException("futex wake on address " + Long.toHexString(address) + " failed: errno "
                    + Native.getLastError());
        }
        return (int) woken;
    }
}
