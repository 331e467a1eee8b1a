package dev.shmheap.internal.lock;

import dev.shmheap.internal.process.ProcessTokens;
import dev.shmheap.internal.wait.SpinYieldPark;
import dev.shmheap.internal.memory.MappedMemory;

import java.util.concurrent.TimeUnit;

/**
 * A stateless CAS spinlock over one 64-bit word of shared memory. All state is in the word:
 * 0 when free, else the {@link ProcessTokens} token of the owning process. Threads of one
 * process exclude each other too, because the CAS from 0 fails while any thread holds it.
 *
 * <p>Waiting is a {@link SpinYieldPark}: spin, yield, then park with growing pauses. Once parking,
 * and then every {@link #LIVENESS_CHECK_NANOS}, the waiter asks whether the owner still runs;
 * if the owner is dead it takes the word over with one CAS from the dead token to its own and
 * reports {@link Result#TAKEN_OVER}, so that the caller repairs the structure the lock
 * protects before using it; {@link #lastTakeover()} then names the dead owner. A takeover is
 * not logged here, while the lock is held: the caller reports it once it has released the
 * lock (a fresh JVM's first log record takes tens of milliseconds). A live owner is never
 * robbed, however long it holds the lock; the waiter logs who it waits for every
 * {@link #REPORT_NANOS}.
 */
public final class SpinLock {
    static final long LIVENESS_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    static final long REPORT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final System.Logger LOG = System.getLogger(SpinLock.class.getName());

    /** pid 0 never runs, so this owner is always dead: "repair before use". */
    public static final long POISONED = 1L;

    /** A takeover: the dead owner's lock word (a token, or {@link #POISONED}) and when it was taken over ({@link System#nanoTime()}). */
    public record Takeover(long deadOwner, long atNanos) {
    }

    /** Set by a takeover, on the taking thread only: the rare path, so it costs nothing otherwise. */
    private static final ThreadLocal<Takeover> LAST_TAKEOVER = new ThreadLocal<>();

    /** How an acquire ended. */
    public enum Result {
        /** The lock was free, or released by a live owner: it is held now. */
        ACQUIRED,
        /** The previous owner died holding it (or it was marked for repair): it is held now; repair first. */
        TAKEN_OVER,
        /** A live owner held it past the timeout: it is not held. */
        TIMED_OUT,
        /** The owner is dead and the caller asked not to take over: it is not held. */
        OWNER_DEAD;

        public boolean held() {
            return this == ACQUIRED || this == TAKEN_OVER;
        }
    }

    private SpinLock() {
    }

    /** Takes the lock only if it is free now; never waits, never takes over. */
    public static boolean tryAcquire(MappedMemory memory, long lockOffset, long token) {
        return memory.getLongVolatile(lockOffset) == 0 && memory.compareAndSetLong(lockOffset, 0, token);
    }

    /** Waits as long as a live owner holds the lock; returns {@link Result#ACQUIRED} or {@link Result#TAKEN_OVER}. */
    public static Result acquire(MappedMemory memory, long lockOffset, long token, String lockName) {
        if (memory.compareAndSetLong(lockOffset, 0, token)) {
            return Result.ACQUIRED;
        }
        return acquireSlow(memory, lockOffset, token, lockName, true, SpinYieldPark.NO_DEADLINE);
    }

    /** Like {@link #acquire}, but returns {@link Result#TIMED_OUT} after {@code timeoutNanos} while a live process holds it. */
    public static Result acquireWithin(MappedMemory memory, long lockOffset, long token, String lockName, long timeoutNanos) {
        if (memory.compareAndSetLong(lockOffset, 0, token)) {
            return Result.ACQUIRED;
        }
        return acquireSlow(memory, lockOffset, token, lockName, true, timeoutNanos);
    }

    /**
     * Waits like {@link #acquireWithin} but does not take the lock from a dead owner: returns
     * {@link Result#OWNER_DEAD} instead, for diagnostics that must report rather than repair.
     */
    public static Result acquireUnlessOwnerDead(MappedMemory memory, long lockOffset, long token, String lockName, long timeoutNanos) {
        if (memory.compareAndSetLong(lockOffset, 0, token)) {
            return Result.ACQUIRED;
        }
        return acquireSlow(memory, lockOffset, token, lockName, false, timeoutNanos);
    }

    private static Result acquireSlow(MappedMemory memory, long lockOffset, long token, String lockName, boolean takeOver,
                                      long timeoutNanos) {
        SpinYieldPark backoff = SpinYieldPark.until(timeoutNanos);
        long nextLivenessCheck = 0;
        long nextReport = REPORT_NANOS;
        while (true) {
            long owner = memory.getLongVolatile(lockOffset);
            if (owner == 0) {
                if (memory.compareAndSetLong(lockOffset, 0, token)) {
                    return Result.ACQUIRED;
                }
                continue;
            }
            if (backoff.parking()) {
                long elapsed = backoff.elapsedNanos();
                if (elapsed >= nextLivenessCheck) {
                    nextLivenessCheck = elapsed + LIVENESS_CHECK_NANOS;
                    if (!ProcessTokens.isAlive(owner)) {
                        if (!takeOver) {
                            return Result.OWNER_DEAD;
                        }
                        if (memory.compareAndSetLong(lockOffset, owner, token)) {
                            LAST_TAKEOVER.set(new Takeover(owner, System.nanoTime()));
                            return Result.TAKEN_OVER;
                        }
                        continue;
                    }
                }
                if (elapsed >= nextReport) {
                    nextReport = elapsed + REPORT_NANOS;
                    LOG.log(System.Logger.Level.WARNING, "waiting " + TimeUnit.NANOSECONDS.toSeconds(elapsed) + " s for " + lockName
                            + " held by " + ProcessTokens.describe(owner));
                }
            }
            if (!backoff.idle()) {
                return Result.TIMED_OUT;
            }
        }
    }

    /** The latest lock this thread took over: read right after an acquire returned {@link Result#TAKEN_OVER}. */
    public static Takeover lastTakeover() {
        return LAST_TAKEOVER.get();
    }

    /** "took over LOCK from dead pid N (...)", or "repairing LOCK, marked for repair": what a takeover is logged as. */
    public static String describeTakeover(String lockName, long deadOwner) {
        return deadOwner == POISONED ? "repairing " + lockName + ", marked for repair"
                : "took over " + lockName + " from dead " + ProcessTokens.describe(deadOwner, false);
    }

    public static void release(MappedMemory memory, long lockOffset, long token) {
        long owner = memory.getLong(lockOffset);
        if (owner != token) {
            throw notOwner(lockOffset, owner);
        }
        memory.putLongRelease(lockOffset, 0);
    }

    /**
     * Releases the lock marked as needing repair: the word is left at {@link #POISONED}, a token
     * no process has, so the next acquirer sees a dead owner, takes over and repairs. Used when
     * an operation failed part-way through with the lock held.
     */
    public static void releasePoisoned(MappedMemory memory, long lockOffset, long token) {
        long owner = memory.getLong(lockOffset);
        if (owner != token) {
            throw notOwner(lockOffset, owner);
        }
        memory.putLongRelease(lockOffset, POISONED);
    }

    private static IllegalStateException notOwner(long lockOffset, long owner) {
        return new IllegalStateException("releasing the lock at offset " + lockOffset + ", which is " + lockStateToString(owner)
                + ", not by this process");
    }

    public static String lockStateToString(long word) {
        if (word == 0) {
            return "free";
        }
        return word == POISONED ? "marked for repair" : "held by " + ProcessTokens.describe(word);
    }
}
