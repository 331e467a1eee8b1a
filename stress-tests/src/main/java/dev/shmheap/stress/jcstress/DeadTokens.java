package dev.shmheap.stress.jcstress;

import dev.shmheap.ProcessIdentity;
import dev.shmheap.internal.lock.SpinLock;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Owner tokens that {@link ProcessIdentity#isAlive} must call dead, for the takeover tests:
 * <ul>
 *   <li>{@link SpinLock#POISONED}, what {@code releasePoisoned} leaves (pid 0);</li>
 *   <li>a token with pid 0 and non-zero start bits;</li>
 *   <li>the real token of a child process that has exited and been reaped, found through
 *       /proc like the library finds its own: the path a SIGKILLed peer takes.</li>
 * </ul>
 * Each is checked once, when the class loads, so a wrong premise fails loudly rather than
 * turning into a STALE outcome.
 */
public final class DeadTokens {
    static final long PID_ZERO = 0x0000_0000_1234_5678L;
    public static final long EXITED_PROCESS = exitedProcessToken();

    static {
        for (long token : new long[] {SpinLock.POISONED, PID_ZERO, EXITED_PROCESS}) {
            if (ProcessIdentity.isAlive(token)) {
                throw new IllegalStateException("token " + Long.toHexString(token) + " should be dead but "
                        + ProcessIdentity.describe(token));
            }
        }
    }

    private DeadTokens() {
    }

    private static long exitedProcessToken() {
        try {
            Process child = new ProcessBuilder("sleep", "60").redirectErrorStream(true).start();
            long pid = child.pid();
            long token;
            try {
                token = (pid << 32) | (startTicks(pid) & 0xFFFF_FFFFL);
            } finally {
                child.destroyForcibly();
                if (!child.waitFor(10, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("child pid " + pid + " did not exit");
                }
            }
            return token;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start a child process for a dead owner token", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for the child process", e);
        }
    }

    /** Field 22 of /proc/PID/stat: the process start time in clock ticks since boot. */
    private static long startTicks(long pid) throws IOException {
        String stat = new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "stat")), StandardCharsets.US_ASCII);
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        return Long.parseLong(fields[19]);
    }
}
