package dev.shmheap.ipc.fanout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Who a process is, as a 64-bit word for shared memory: the pid in the high 32 bits and the low
 * 32 bits of its start time (field 22 of {@code /proc/PID/stat}, clock ticks since boot) in the
 * low 32 bits; never 0. The same form as the heap's process table ({@code AttachedProcess} pairs
 * pid and start ticks), so a reused pid is not taken for the process that wrote the token.
 *
 * <p>Dead means: no /proc entry, another start time, a zombie, or {@code PF_EXITING} (flag 0x4 of
 * field 9) set, which the kernel sets at once when a process is killed, long before it is
 * reaped. When /proc cannot be read or parsed the answer is "alive": never release what a
 * process we cannot prove dead may still use.
 */
final class ProcessToken {
    /** {@code PF_EXITING} in the flags field of /proc/PID/stat. */
    private static final long PF_EXITING = 0x4;
    /** Index of field 22 (start time) in the fields after the command name; field 3 is index 0. */
    private static final int START_TIME_INDEX = 19;
    /** Index of field 9 (flags). */
    private static final int FLAGS_INDEX = 6;

    private static final long CURRENT = of(ProcessHandle.current().pid());

    private ProcessToken() {
    }

    static long current() {
        return CURRENT;
    }

    static int pid(long token) {
        return (int) (token >>> 32);
    }

    private static long of(long pid) {
        String[] stat = stat(pid);
        if (stat == null) {
            throw new IllegalStateException("cannot read the start time of pid=" + pid + " from /proc");
        }
        return (pid << 32) | (Long.parseLong(stat[START_TIME_INDEX]) & 0xFFFF_FFFFL);
    }

    static boolean isAlive(long token) {
        if (token == CURRENT) {
            return true;
        }
        long pid = token >>> 32;
        if (pid <= 0 || pid == ProcessHandle.current().pid() || (token & 0xFFFF_FFFFL) == 0) {
            return false;
        }
        String[] stat;
        try {
            stat = readStat(pid);
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException | RuntimeException e) {
            return true;
        }
        if (stat == null) {
            return true;
        }
        try {
            if (stat[0].equals("Z") || stat[0].equals("X") || (Long.parseLong(stat[FLAGS_INDEX]) & PF_EXITING) != 0) {
                return false;
            }
            return (Long.parseLong(stat[START_TIME_INDEX]) & 0xFFFF_FFFFL) == (token & 0xFFFF_FFFFL);
        } catch (NumberFormatException e) {
            return true;
        }
    }

    static String describe(long token) {
        return "pid " + pid(token) + " (start " + (token & 0xFFFF_FFFFL) + ", " + (isAlive(token) ? "alive" : "dead") + ")";
    }

    private static String[] stat(long pid) {
        try {
            return readStat(pid);
        } catch (IOException e) {
            return null;
        }
    }

    /** Fields from field 3 (state) on; null if unparsable. Field 2 may contain spaces and ')'. */
    private static String[] readStat(long pid) throws IOException {
        String stat = new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "stat")), StandardCharsets.US_ASCII);
        int close = stat.lastIndexOf(')');
        if (close < 0 || close + 2 > stat.length()) {
            return null;
        }
        String[] fields = stat.substring(close + 2).trim().split(" ");
        return fields.length > START_TIME_INDEX ? fields : null;
    }
}
