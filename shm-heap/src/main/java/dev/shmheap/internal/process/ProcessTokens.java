package dev.shmheap.internal.process;

import dev.shmheap.internal.memory.NativeIo;

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
public final class ProcessTokens {
    private static final long CURRENT = tokenOf(ProcessHandle.current().pid());
    /**
     * The kernel's {@code PF_EXITING} task flag (field 9 of {@code /proc/PID/stat}): set as soon
     * as a task starts to exit, e.g. right after SIGKILL, long before the process becomes a
     * zombie (a JVM's address space may take hundreds of milliseconds to tear down).
     */
    static final long PF_EXITING = 0x4;
    /**
     * The low 7 bits of a task's exit status in waitpid form ({@code exit_code}, field 52 of
     * {@code /proc/PID/stat} since Linux 3.5): the signal that ended it, 0 for a normal exit.
     */
    static final long TERMINATING_SIGNAL_MASK = 0x7F;
    /** Indexes into {@link #readStat}'s fields, which start at field 3 of {@code /proc/PID/stat}. */
    private static final int STATE = 0;
    private static final int FLAGS = 6;
    private static final int START_TIME = 19;
    private static final int EXIT_CODE = 49;

    private ProcessTokens() {
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
     * True while the process that wrote {@code token} runs. A token whose pid is gone, whose
     * pid now belongs to a process started at another time, whose process is a zombie
     * (killed, not yet reaped), or whose process is exiting is dead. Where /proc cannot tell
     * (hidden by {@code hidepid}, or unreadable) and {@code kill(pid, 0)} says the pid exists,
     * the answer is "alive": never take a lock from a process we cannot prove dead.
     *
     * <p>Exiting: the flags in {@code /proc/PID/stat} are those of the process's main thread
     * (the thread group leader). A main thread that called {@code pthread_exit} while other
     * threads run also shows as exiting, or as a zombie, yet the process lives. So an exiting
     * leader proves the process dead only in one of two ways:
     * <ol>
     *   <li>its exit status names a signal ({@link #killedBySignal}): a fatal signal ends the
     *       whole thread group. The kernel marked every thread for death and woke or
     *       interrupted it when the signal arrived, before the leader could begin to exit, so
     *       no thread returns to user code again, even though some have not yet been scheduled
     *       to set their own {@code PF_EXITING}. This is the SIGKILL case: the answer comes as
     *       soon as the leader has begun to exit, without waiting for every thread;</li>
     *   <li>otherwise (a normal exit, or a main thread that ended on its own), no other thread
     *       of the process runs unflagged ({@code /proc/PID/task}). Under load that look-up can
     *       say "alive" until the last thread of a dying JVM got a time slice.</li>
     * </ol>
     * The {@code java} launcher keeps its main thread waiting until the JVM exits, so for JVMs
     * the leader is exiting only while the whole process dies.
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
        String[] stat;
        try {
            stat = readStat(pid);
        } catch (NoSuchFileException e) {
            // Gone from /proc: dead, unless /proc hides other users' processes (hidepid) and
            // kill(pid, 0) finds it; then we cannot check its start time and must assume alive.
            return pid <= Integer.MAX_VALUE && NativeIo.processExists((int) pid);
        } catch (IOException | RuntimeException e) {
            return true;
        }
        if (stat == null) {
            return true;
        }
        try {
            if ((Long.parseLong(stat[START_TIME]) & 0xFFFF_FFFFL) != (token & 0xFFFF_FFFFL)) {
                return false;
            }
            return !exitingOrZombie(stat) || (!killedBySignal(stat) && anotherThreadRuns(pid));
        } catch (NumberFormatException e) {
            return true;
        }
    }

    /** Whether the stat fields say the task is a zombie, dead, or has begun to exit. */
    static boolean exitingOrZombie(String[] stat) {
        String state = stat[STATE];
        return state.equals("Z") || state.equals("X") || (Long.parseLong(stat[FLAGS]) & PF_EXITING) != 0;
    }

    /**
     * Whether the task's exit status names the signal that ended it. Read only together with
     * {@link #exitingOrZombie}: a task stopped by a debugger also shows a signal there, but is
     * not exiting. False where the field is missing (before Linux 3.5) or hidden (0 unless we
     * may ptrace the process), so those cases take the slower, thread-by-thread proof.
     */
    static boolean killedBySignal(String[] stat) {
        return stat.length > EXIT_CODE && (Long.parseLong(stat[EXIT_CODE]) & TERMINATING_SIGNAL_MASK) != 0;
    }

    /** Whether a thread of process {@code pid} other than its main thread runs and is not exiting. */
    private static boolean anotherThreadRuns(long pid) {
        try (var tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks) {
                String tid = task.getFileName().toString();
                if (tid.equals(Long.toString(pid))) {
                    continue;
                }
                String[] stat = parseStat(task.resolve("stat"));
                if (stat != null && !exitingOrZombie(stat)) {
                    return true;
                }
            }
            return false;
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException | RuntimeException e) {
            return true; // cannot tell: never call a process dead we cannot prove dead
        }
    }

    private static Long startTicks(long pid) {
        try {
            String[] stat = readStat(pid);
            return stat == null ? null : Long.parseLong(stat[START_TIME]);
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }

    /**
     * The fields of /proc/PID/stat from field 3 (state) on, so field 22 (start time) is at
     * index 19; null if the line cannot be parsed. The command name (field 2) may contain
     * spaces and ')', hence the split after the last ')'.
     */
    private static String[] readStat(long pid) throws IOException {
        return parseStat(Path.of("/proc", Long.toString(pid), "stat"));
    }

    private static String[] parseStat(Path file) throws IOException {
        String stat = new String(Files.readAllBytes(file), StandardCharsets.US_ASCII);
        int close = stat.lastIndexOf(')');
        if (close < 0 || close + 2 > stat.length()) {
            return null;
        }
        String[] fields = stat.substring(close + 2).trim().split(" ");
        return fields.length > START_TIME ? fields : null;
    }

    /**
     * The inode of this process's pid namespace ({@code /proc/self/ns/pid}), 0 if unknown.
     * Tokens are only meaningful inside one pid namespace, so a heap records its creator's.
     */
    public static long pidNamespace() {
        try {
            String link = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString();
            int open = link.indexOf('[');
            int close = link.indexOf(']');
            return open >= 0 && close > open ? Long.parseLong(link.substring(open + 1, close)) : 0;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    public static String describe(long token) {
        return describe(token, isAlive(token));
    }

    /** Like {@link #describe(long)} with the liveness the caller has just found, so /proc is not read again. */
    public static String describe(long token, boolean alive) {
        return "pid " + pidOf(token) + " (start " + (token & 0xFFFF_FFFFL) + ", " + (alive ? "alive" : "dead") + ")";
    }
}
