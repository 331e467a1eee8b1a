package dev.shmheap.internal.process;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Liveness by pid, start time and task state; exiting processes count as dead. */
class ProcessTokensTest {
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
        assertTrue(ProcessTokens.killedBySignal(stat("R", ProcessTokens.PF_EXITING, 9)), "SIGKILL");
        assertTrue(ProcessTokens.killedBySignal(stat("R", ProcessTokens.PF_EXITING, 6 | 0x80)), "SIGABRT with a core dump");
        assertFalse(ProcessTokens.killedBySignal(stat("Z", ProcessTokens.PF_EXITING, 0)), "pthread_exit or exit(0)");
        assertFalse(ProcessTokens.killedBySignal(stat("Z", ProcessTokens.PF_EXITING, 1 << 8)), "exit(1)");
        String[] beforeLinux35 = java.util.Arrays.copyOf(stat("R", ProcessTokens.PF_EXITING, 9), 22);
        assertFalse(ProcessTokens.killedBySignal(beforeLinux35), "no exit_code field");
    }

    /**
     * The premise of the fast path: a SIGKILLed process's main thread shows its exit status
     * with signal 9 while it is exiting or a zombie, and isAlive says dead. The victim is a
     * grandchild whose parent (a shell that exec'd {@code sleep}) never reaps it, so it stays
     * a zombie for us to read: a direct child would be reaped at once by the JDK.
     */
    @Test
    void shouldSeeTheKillSignalInTheExitStatusOfAKilledProcessBeforeItIsReaped() throws Exception {
        Process shell = new ProcessBuilder("sh", "-c", "sleep 60 & echo $!; exec sleep 60").start();
        try {
            long pid = Long.parseLong(shell.inputReader().readLine().trim());
            // Kill only once the shell has become `sleep`: a shell still running could reap the
            // killed grandchild itself, and its /proc entry would vanish under the loop below.
            Path shellComm = Path.of("/proc", Long.toString(shell.pid()), "comm");
            long execDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.readString(shellComm).trim().equals("sleep")) {
                assertTrue(System.nanoTime() < execDeadline, "the shell did not exec sleep within 30 s");
                Thread.sleep(1);
            }
            long token = ProcessTokens.tokenOf(pid);
            assertTrue(ProcessTokens.isAlive(token), "the sleeping grandchild runs");
            assertTrue(ProcessHandle.of(pid).orElseThrow().destroyForcibly(), "SIGKILL sent");
            Path statFile = Path.of("/proc", Long.toString(pid), "stat");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            String[] fields;
            do {
                String text = Files.readString(statFile);
                fields = text.substring(text.lastIndexOf(')') + 2).trim().split(" ");
                assertTrue(System.nanoTime() < deadline, "not exiting 30 s after SIGKILL: " + text);
            } while (!ProcessTokens.exitingOrZombie(fields));
            assumeTrue(fields.length > 49, "this kernel has no exit_code in /proc/PID/stat (Linux < 3.5)");
            assertEquals(9, Long.parseLong(fields[49]) & ProcessTokens.TERMINATING_SIGNAL_MASK,
                    "exit_code of an exiting, SIGKILLed task: " + String.join(" ", fields));
            assertTrue(ProcessTokens.killedBySignal(fields));
            assertFalse(ProcessTokens.isAlive(token));
        } finally {
            shell.destroyForcibly(); // the zombie goes to init (or a subreaper), which reaps it
            shell.waitFor();
        }
    }

    @Test
    void shouldTreatAnExitingTaskAsExiting() {
        assertFalse(ProcessTokens.exitingOrZombie(stat("S", 0x400100)), "a sleeping task without PF_EXITING");
        assertFalse(ProcessTokens.exitingOrZombie(stat("R", 0x40)), "a running task without PF_EXITING");
        assertTrue(ProcessTokens.exitingOrZombie(stat("R", 0x400104)), "PF_EXITING set while still running");
        assertTrue(ProcessTokens.exitingOrZombie(stat("D", ProcessTokens.PF_EXITING)), "PF_EXITING in uninterruptible sleep");
        assertTrue(ProcessTokens.exitingOrZombie(stat("Z", 0)), "a zombie");
        assertTrue(ProcessTokens.exitingOrZombie(stat("X", 0)), "dead");
    }

    @Test
    void shouldSeeThisProcessAndALiveChildAsAliveAndAKilledChildAsDeadBeforeItIsReaped() throws Exception {
        assertTrue(ProcessTokens.isAlive(ProcessTokens.current()));
        Process child = new ProcessBuilder("sleep", "60").start();
        try {
            long token = ProcessTokens.tokenOf(child.pid());
            assertTrue(ProcessTokens.isAlive(token), "a sleeping child runs");
            assertFalse(ProcessTokens.isAlive(token + 1), "the same pid with another start time is another process");
            child.destroyForcibly(); // SIGKILL; not reaped until waitFor
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (ProcessTokens.isAlive(token) && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertFalse(ProcessTokens.isAlive(token), "a SIGKILLed child is dead before it is reaped");
        } finally {
            child.destroyForcibly();
            child.waitFor();
        }
    }
}
