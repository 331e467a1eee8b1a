package dev.shmheap.internal.lock;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Liveness by pid, start time and task state; exiting processes count as dead. */
class ProcessIdentityTest {
    /** Fields of /proc/PID/stat from field 3 on: state, ppid, pgrp, session, tty, tpgid, flags, ... start time at 19. */
    private static String[] stat(String state, long flags) {
        return stat(state, flags, 0);
    }

    /** With exit_code, field 52, at index 49. */
    private static String[] stat(String state, long flags, long exitCode) {
        String[] fields = new String[50];
        java.util.Arrays.fill(fields, "0");
        fields[0] = state;
        fields[6] = Long.toString(flags);
        fields[19] = "12345";
        fields[49] = Long.toString(exitCode);
        return fields;
    }

    @Test
    void shouldTakeOnlyAnExitStatusNamingASignalAsKilledBySignal() {
        assertTrue(ProcessIdentity.killedBySignal(stat("R", ProcessIdentity.PF_EXITING, 9)), "SIGKILL");
        assertTrue(ProcessIdentity.killedBySignal(stat("R", ProcessIdentity.PF_EXITING, 6 | 0x80)), "SIGABRT with a core dump");
        assertFalse(ProcessIdentity.killedBySignal(stat("Z", ProcessIdentity.PF_EXITING, 0)), "pthread_exit or exit(0)");
        assertFalse(ProcessIdentity.killedBySignal(stat("Z", ProcessIdentity.PF_EXITING, 1 << 8)), "exit(1)");
        String[] beforeLinux35 = java.util.Arrays.copyOf(stat("R", ProcessIdentity.PF_EXITING, 9), 22);
        assertFalse(ProcessIdentity.killedBySignal(beforeLinux35), "no exit_code field");
    }

    /**
     * The premise of the fast path: right after SIGKILL, before the child is reaped, its main
     * thread shows PF_EXITING (or Z) together with exit status 9, and isAlive says dead.
     */
    @Test
    void shouldSeeTheKillSignalInTheExitStatusOfAKilledChildBeforeItIsReaped() throws Exception {
        Process child = new ProcessBuilder("sleep", "60").start();
        try {
            long token = ProcessIdentity.tokenOf(child.pid());
            Path statFile = Path.of("/proc", Long.toString(child.pid()), "stat");
            child.destroyForcibly(); // SIGKILL; the JDK reaps it in the background, so the file may vanish
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            String[] seen = null;
            while (System.nanoTime() < deadline) {
                String[] fields;
                try {
                    String text = Files.readString(statFile);
                    fields = text.substring(text.lastIndexOf(')') + 2).trim().split(" ");
                } catch (IOException e) {
                    break; // reaped before or while we read it (ENOENT, ESRCH): nothing more to see
                }
                if (ProcessIdentity.exitingOrZombie(fields)) {
                    seen = fields;
                    break;
                }
                Thread.onSpinWait();
            }
            assumeTrue(seen != null, "the child was reaped before its exiting state could be read");
            assumeTrue(seen.length > 49, "this kernel has no exit_code in /proc/PID/stat (Linux < 3.5)");
            assertEquals(9, Long.parseLong(seen[49]) & ProcessIdentity.TERMINATING_SIGNAL_MASK,
                    "exit_code of an exiting, SIGKILLed task: " + String.join(" ", seen));
            assertFalse(ProcessIdentity.isAlive(token));
        } finally {
            child.destroyForcibly();
            child.waitFor();
        }
    }

    @Test
    void shouldTreatAnExitingTaskAsExiting() {
        assertFalse(ProcessIdentity.exitingOrZombie(stat("S", 0x400100)), "a sleeping task without PF_EXITING");
        assertFalse(ProcessIdentity.exitingOrZombie(stat("R", 0x40)), "a running task without PF_EXITING");
        assertTrue(ProcessIdentity.exitingOrZombie(stat("R", 0x400104)), "PF_EXITING set while still running");
        assertTrue(ProcessIdentity.exitingOrZombie(stat("D", ProcessIdentity.PF_EXITING)), "PF_EXITING in uninterruptible sleep");
        assertTrue(ProcessIdentity.exitingOrZombie(stat("Z", 0)), "a zombie");
        assertTrue(ProcessIdentity.exitingOrZombie(stat("X", 0)), "dead");
    }

    @Test
    void shouldSeeThisProcessAndALiveChildAsAliveAndAKilledChildAsDeadBeforeItIsReaped() throws Exception {
        assertTrue(ProcessIdentity.isAlive(ProcessIdentity.current()));
        Process child = new ProcessBuilder("sleep", "60").start();
        try {
            long token = ProcessIdentity.tokenOf(child.pid());
            assertTrue(ProcessIdentity.isAlive(token), "a sleeping child runs");
            assertFalse(ProcessIdentity.isAlive(token + 1), "the same pid with another start time is another process");
            child.destroyForcibly(); // SIGKILL; not reaped until waitFor
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (ProcessIdentity.isAlive(token) && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertFalse(ProcessIdentity.isAlive(token), "a SIGKILLed child is dead before it is reaped");
        } finally {
            child.destroyForcibly();
            child.waitFor();
        }
    }
}
