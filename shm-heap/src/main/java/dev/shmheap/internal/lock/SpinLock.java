package dev.shmheap.internal.lock;

import dev.shmheap.internal.memory.MappedMemory;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A stateless CAS spinlock over one 64-bit word of shared memory. All state is in the word:
 * 0 when free, else the {@link ProcessIdentity} token of the owning process. Threads of one
 * process exclude each other too, because the CAS from 0 fails while any thread holds it.
 *
 * <p>Waiting: spin with {@link Thread#onSpinWait()}, then yield, then park with growing pauses.
 * After {@link #LIVENESS_CHECK_NANOS} of waiting, and again at that interval, the waiter asks
 * whether the owner still runs; if the owner is dead it takes the word over with one CAS from
 * the dead token to its own and reports {@link Acquired#TAKEN_OVER}, so that the caller repairs
 * the structure the lock protects before using it. A live owner is never robbed, however
 * long it holds the lock; the waiter logs who it waits for every {@link #REPORT_NANOS}.
 */
public final class SpinLock {
    static final long LIVENESS_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    static final long REPORT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final int SPINS = 128;
    private static final int YIELDS = 32;
    private static final long MAX_PARK_NANOS = TimeUnit.MICROSECONDS.toNanos(500);
    private static final System.Logger LOG = System.getLogger(SpinLock.class.getName());

    public enum Acquired {
        /** The lock was free, or released by a live owner. */
        ACQUIRED,
        /** The previous owner died holding it: repair the protected structure first. */
        TAKEN_OVER
    }

    private SpinLock() {
    }

    public static boolean tryAcquire(MappedMemory memory, long lockOffset, long token) {
        return memory.getLongVolatile(lockOffset) == 0 && memory.compareAndSetLong(lockOffset, 0, token);
    }

    public static Acquired acquire(MappedMemory memory, long lockOffset, long token, String lockName) {
        if (memory.compareAndSetLong(lockOffset, 0, token)) {
            return Acquired.ACQUIRED;
        }
        return acquireSlow(memory, lockOffset, token, lockName, true, Long.MAX_VALUE);
    }

    /**
     * Like {@link #acquire} but gives up after {@code timeoutNanos} while a live process holds
     * the lock, returning {@code null}.
     */
    public static Acquired acquireWithin(MappedMemory memory, long lockOffset, long token, String lockName, long timeoutNanos) {
        if (memory.compareAndSetLong(lockOffset, 0, token)) {
            return Acquired.ACQUIRED;
        }
        return acquireSlow(memory, lockOffset, token, lockName, true, timeoutNanos);
    }

    /**
     * Waits for the lock like {@link #acquire} but does not take it from a dead owner: returns
     * {@code null} instead, for diagnostics that must report rather than repair.
     */
    public static Acquired acquireUnlessOwnerDead(MappedMemory memory, long lockOffset, long token, String lockName) {
        if (memory.compareAndSetLong(lockOffset, 0, token)) {
            return Acquired.ACQUIRED;
        }
        return acquireSlow(memory, lockOffset, token, lockName, false, Long.MAX_VALUE);
    }

    private static Acquired acquireSlow(MappedMemory memory, long lockOffset, long token, String lockName, boolean takeOver,
                                        long timeoutNanos) {
        long start = System.nanoTime();
        long nextLivenessCheck = start + LIVENESS_CHECK_NANOS;
        long nextReport = start + REPORT_NANOS;
        long park = 1_000;
        for (int attempt = 0; ; attempt++) {
            long owner = memory.getLongVolatile(lockOffset);
            if (owner == 0) {
                if (memory.compareAndSetLong(lockOffset, 0, token)) {
                    return Acquired.ACQUIRED;
                }
                continue;
            }
            if (attempt < SPINS) {
                Thread.onSpinWait();
                continue;
            }
            if (attempt < SPINS + YIELDS) {
                Thread.yield();
                continue;
            }
            long now = System.nanoTime();
            if (now - nextLivenessCheck >= 0) {
                nextLivenessCheck = now + LIVENESS_CHECK_NANOS;
                if (!ProcessIdentity.isAlive(owner)) {
                    if (!takeOver) {
                        return null;
                    }
                    if (memory.compareAndSetLong(lockOffset, owner, token)) {
                        LOG.log(System.Logger.Level.WARNING, owner == POISONED ? "repairing " + lockName + ", marked for repair"
                                : "took over " + lockName + " from dead " + ProcessIdentity.describe(owner));
                        return Acquired.TAKEN_OVER;
                    }
                    continue;
                }
            }
            if (now - start >= timeoutNanos) {
                return null;
            }
            if (now - nextReport >= 0) {
                nextReport = now + REPORT_NANOS;
                LOG.log(System.Logger.Level.WARNING, "waiting " + TimeUnit.NANOSECONDS.toSeconds(now - start) + " s for " + lockName
                        + " held by " + ProcessIdentity.describe(owner));
            }
            LockSupport.parkNanos(park);
            park = Math.min(park * 2, MAX_PARK_NANOS);
        }
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

    /** pid 0 never runs, so this owner is always dead: "repair before use". */
    public static final long POISONED = 1L;

    public static String lockStateToString(long word) {
        if (word == 0) {
            return "free";
        }
        return word == POISONED ? "marked for repair" : "held by " + ProcessIdentity.describe(word);
    }
}
