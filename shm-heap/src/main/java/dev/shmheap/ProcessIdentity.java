package dev.shmheap;

import dev.shmheap.internal.process.ProcessTokens;

/**
 * Who a process is, as a 64-bit token that fits in one word of shared memory, and whether the
 * process a token names still runs: for code that records in a heap which process owns
 * something (a channel's producer, a consumer) and must tell a dead owner from a live one.
 *
 * <p>A token holds the pid in its high 32 bits and the low 32 bits of the process start time
 * (field 22 of {@code /proc/PID/stat}, clock ticks since boot) in its low 32 bits, so a reused
 * pid is not mistaken for the process that wrote the token. A token is never 0, so 0 can mean
 * "nobody". The heap's own lock words and process table hold the same tokens: this is the API
 * over the library's one implementation of them, {@code internal.process.ProcessTokens}.
 */
public final class ProcessIdentity {
    private ProcessIdentity() {
    }

    /** The token of this JVM. */
    public static long current() {
        return ProcessTokens.current();
    }

    /**
     * True while the process that wrote {@code token} runs. A token whose pid is gone, whose pid
     * now belongs to a process started at another time, or whose process is a zombie or exiting
     * (its main thread flagged PF_EXITING while no other thread runs) is dead.
     * Where {@code /proc} cannot tell (hidden by {@code hidepid}), the answer is "alive": never
     * treat as dead a process that cannot be proven dead.
     */
    public static boolean isAlive(long token) {
        return ProcessTokens.isAlive(token);
    }

    /** The pid in {@code token}. */
    public static int pidOf(long token) {
        return ProcessTokens.pidOf(token);
    }

    /** "pid 1234 (start 5678, alive)", for messages. */
    public static String describe(long token) {
        return ProcessTokens.describe(token);
    }
}
