package dev.shmheap.internal.lock;

import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** Liveness by pid, start time and task state; exiting processes count as dead. */
class ProcessIdentityTest {
    /** Fields of /proc/PID/stat from field 3 on: state, ppid, pgrp, session, tty, tpgid, flags, ... start time at 19. */
    private static String[] stat(String state, long flags) {
        String[] fields = new String[22];
        java.util.Arrays.fill(fields, "0");
        fields[0] = state;
        fields[6] = Long.toString(flags);
        fields[19] = "12345";
        return fields;
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
