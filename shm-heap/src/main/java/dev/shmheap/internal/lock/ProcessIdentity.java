package dev.shmheap.internal.lock;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Who a process is, as a 64-bit token that can be stored in shared memory: the pid in the
 * high 32 bits and the low 32 bits of the process start time (field 22 of
 * {@code /proc/PID/stat}, clock ticks since boot) in the low 32 bits.
 *
 * <p>A pid alone is not an identity because pids are reused; a reused pid has a later start
 * time, so {@link #isAlive(long)} tells it from the process that wrote the token.
 * A token is never 0, which lock words use for "free".
 */
public final class ProcessIdentity {
    private static final long CURRENT = tokenOf(ProcessHandle.current().pid());

    private ProcessIdentity() {
    }

    /** The token of this JVM. */
    public static long current() {
        return CURRENT;
    }

    public static int pidOf(long token) {
        return (int) (token >>> 32);
    }

    static long tokenOf(long pid) {
        Long start = startTicks(pid);
        if (start == null) {
            throw new IllegalStateException("cannot read the start time of pid " + pid + " from /proc");
        }
        return (pid << 32) | (start & 0xFFFF_FFFFL);
    }

    /**
     * True while the process that wrote {@code token} runs. A token whose pid is gone, or
     * whose pid now belongs to a process started at another time, is dead. Where /proc
     * cannot be read for another reason the answer is "alive": never take a lock from a
     * process we cannot prove dead.
     */
    public static boolean isAlive(long token) {
        long pid = token >>> 32;
        if (pid == ProcessHandle.current().pid()) {
            return token == CURRENT;
        }
        if (pid <= 0 || (token & 0xFFFF_FFFFL) == 0) {
            // No JVM starts at tick 0 after boot; such a token is garbage (kernel threads do
            // start at 0, so without this check a stray bit could name kthreadd as owner).
            return false;
        }
        Long start;
        try {
            start = readStartTicks(pid);
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException | RuntimeException e) {
            return true;
        }
        return start != null && (start & 0xFFFF_FFFFL) == (token & 0xFFFF_FFFFL);
    }

    private static Long startTicks(long pid) {
        try {
            return readStartTicks(pid);
        } catch (IOException e) {
            return null;
        }
    }

    /** Field 22 of /proc/PID/stat; the command name (field 2) may contain spaces and ')'. */
    private static Long readStartTicks(long pid) throws IOException {
        String stat = new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "stat")), StandardCharsets.US_ASCII);
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            return null;
        }
        String[] fields = stat.substring(close + 2).trim().split(" ");
        // fields[0] is field 3 (state), so field 22 is fields[19].
        return fields.length > 19 ? Long.parseLong(fields[19]) : null;
    }

    public static String describe(long token) {
        return "pid " + pidOf(token) + " (start " + (token & 0xFFFF_FFFFL) + ", " + (isAlive(token) ? "alive" : "dead") + ")";
    }
}
