package dev.shmheap.stress.jcstress;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Silences {@code SpinLock}'s takeover warnings. The takeover tests make the lock change hands
 * from a dead owner thousands of times a second, and each takeover logs a WARNING through
 * {@link System.Logger} (java.util.logging by default) that would flood the fork's stderr,
 * which jcstress copies into its report. The outcome of every takeover is checked by the tests
 * themselves.
 */
final class Quiet {
    /** Held so that java.util.logging, which keeps loggers weakly, does not drop the setting. */
    private static final Logger SPIN_LOCK = Logger.getLogger("dev.shmheap.internal.lock.SpinLock");

    static {
        SPIN_LOCK.setLevel(Level.OFF);
    }

    private Quiet() {
    }

    static void spinLockWarnings() {
        // The static initialiser did the work; calling this makes sure it ran.
    }
}
