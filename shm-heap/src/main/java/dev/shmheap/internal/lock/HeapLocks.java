package dev.shmheap.internal.lock;

import dev.shmheap.internal.process.ProcessTokens;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.memory.Counters;
import dev.shmheap.internal.memory.MappedMemory;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static dev.shmheap.internal.layout.HeaderDescriptor.BUDDY_LOCK_OFFSET;
import static dev.shmheap.internal.layout.HeaderDescriptor.CLASS_LOCK;
import static dev.shmheap.internal.layout.HeaderDescriptor.LOCK_TAKEOVERS_OFFSET;
import static dev.shmheap.internal.layout.HeaderDescriptor.NAME_DIRECTORY_LOCK_OFFSET;
import static dev.shmheap.internal.layout.HeaderDescriptor.classOffset;

/**
 * The heap's lock words: where each lives in the header, its name in messages, the order in
 * which they nest, and the one way a section under a lock is written.
 *
 * <p>Order (index {@code 0 .. count() - 1}): the class-stripe locks in (class, stripe) order,
 * then the buddy lock, then the name-directory lock. A holder of a lock takes only locks later
 * in this order, so no two processes can wait for each other. The allocator's own nesting is
 * one class-stripe lock, then the buddy lock (a class takes or returns a set).
 *
 * <p>Repair: a lock taken over from a dead owner, or released marked for repair because a
 * section threw, is repaired before its section runs: the buddy by rebuilding its lists, a
 * class stripe by rebuilding it under the buddy lock ({@link Repairs}). A section that
 * throws releases its lock marked for repair, since it may have stopped between two stores.
 *
 * <p>Reporting a takeover: it is counted in the heap at once ({@code LOCK_TAKEOVERS_OFFSET}),
 * but logged and passed to the {@link TakeoverListener} only once the outermost section has
 * released its lock, so that neither a slow first log record nor a listener delays the
 * processes waiting for it. The buddy sections that run inside a class section
 * ({@link #inBuddyNested}) leave the report to that class section.
 */
public final class HeapLocks {
    /** Rebuilds what a lock protects from the page map, after its holder died mid-section. */
    public interface Repairs {
        /** Called with the buddy lock held. */
        void rebuildBuddy();

        /** Called with the lock of class {@code c}, stripe {@code s} and the buddy lock held. */
        void rebuildClass(int c, int s);
    }

    /** A section under one class-stripe lock; two long arguments so that callers need not capture. */
    @FunctionalInterface
    public interface ClassSection {
        long run(int c, int s, long a, long b);
    }

    /**
     * Told of each lock taken over from a dead owner (or marked for repair), after the lock was
     * released, on a thread of this process that used the heap.
     *
     * @see SpinLock.Takeover
     */
    @FunctionalInterface
    public interface TakeoverListener {
        void tookOver(String lockName, long deadOwner, long atNanos);
    }

    /** A takeover not yet reported: its lock's name and {@link SpinLock#lastTakeover()}. */
    private record Pending(String lockName, SpinLock.Takeover takeover) {
    }

    /** The lock protocol's logger, which a takeover is reported to. */
    private static final System.Logger LOG = System.getLogger(SpinLock.class.getName());

    /** A section under the buddy or the name-directory lock. */
    @FunctionalInterface
    public interface Section {
        long run(long a, long b);
    }

    private final MappedMemory memory;
    private final long token;
    private final int stripes;
    private final Repairs repairs;
    /** Lock word offsets and names, indexed in lock order. */
    private final long[] offsets;
    private final String[] names;
    private final int buddyIndex;
    private final int nameIndex;
    /** Takeovers waiting for their section's lock to be released; any thread may report them. */
    private final ConcurrentLinkedQueue<Pending> unreported = new ConcurrentLinkedQueue<>();
    private volatile TakeoverListener listener = (lockName, deadOwner, atNanos) -> { };

    /**
     * @param stripes the class stripes the heap uses (locks of stripes beyond them are never taken)
     * @param file    named in every lock's name, for messages
     */
    public HeapLocks(MappedMemory memory, long token, int stripes, String file, Repairs repairs) {
        this.memory = memory;
        this.token = token;
        this.stripes = stripes;
        this.repairs = repairs;
        int classLocks = SizeClasses.COUNT * stripes;
        this.buddyIndex = classLocks;
        this.nameIndex = classLocks + 1;
        this.offsets = new long[classLocks + 2];
        this.names = new String[classLocks + 2];
        int[] index = {0};
        forEach(stripes, (offset, name) -> {
            offsets[index[0]] = offset;
            names[index[0]++] = name + " of " + file;
        });
    }

    /** Whom {@link #report} tells of takeovers, besides the log. */
    public void setTakeoverListener(TakeoverListener listener) {
        this.listener = listener;
    }

    /** Visits a lock word's header offset and its name without the file. */
    @FunctionalInterface
    public interface LockVisitor {
        void visit(long offset, String name);
    }

    /**
     * Visits every lock word of a heap with {@code stripes} class stripes in lock order: the
     * one definition of the order, for instances and for observers that take no lock.
     */
    public static void forEach(int stripes, LockVisitor visitor) {
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            for (int s = 0; s < stripes; s++) {
                visitor.visit(classOffset(c, s, CLASS_LOCK), "lock of class " + SizeClasses.blockSize(c) + " stripe " + s);
            }
        }
        visitor.visit(BUDDY_LOCK_OFFSET, "buddy lock");
        visitor.visit(NAME_DIRECTORY_LOCK_OFFSET, "name-directory lock");
    }

    private int classIndex(int c, int s) {
        return c * stripes + s;
    }

    /** The word of the lock of class {@code c}, stripe {@code s}: 0, or its holder's token. */
    private long classHolder(int c, int s) {
        return memory.getLongVolatile(offsets[classIndex(c, s)]);
    }

    // ---- class-stripe locks ----

    /** Runs {@code section} under the lock of class {@code c}, stripe {@code s}; see the class comment. */
    public long inClass(int c, int s, long a, long b, ClassSection section) {
        lockClass(c, s);
        return runAndUnlock(c, s, a, b, section);
    }

    /** Takes the lock only if it is free now (never from a dead owner, so nothing needs repair). */
    public boolean tryLockClass(int c, int s) {
        return SpinLock.tryAcquire(memory, offsets[classIndex(c, s)], token);
    }

    /** Runs {@code section} under the class-stripe lock the caller took with {@link #tryLockClass}, then releases it. */
    public long runAndUnlock(int c, int s, long a, long b, ClassSection section) {
        long result;
        try {
            result = section.run(c, s, a, b);
        } catch (Throwable t) {
            release(classIndex(c, s), false);
            reportIfAny();
            throw t;
        }
        release(classIndex(c, s), true);
        reportIfAny();
        return result;
    }

    private void lockClass(int c, int s) {
        int index = classIndex(c, s);
        if (counted(SpinLock.acquire(memory, offsets[index], token, names[index]), index) == SpinLock.Result.TAKEN_OVER) {
            repairClass(c, s);
            dev.shmheap.internal.jfr.HeapEvents.lockRepaired("class stripe rebuilt from the page map");
        }
    }

    /** Apart from {@link #lockClass} so that the common path stays small enough to inline. */
    private void repairClass(int c, int s) {
        try {
            inBuddyNested(c, s, (cc, ss) -> {
                repairs.rebuildClass((int) cc, (int) ss);
                return 0;
            });
        } catch (Throwable t) {
            release(classIndex(c, s), false);
            throw t;
        }
    }

    /**
     * Takes the lock of class {@code c}, stripe {@code s} and at once releases it, which
     * repairs the stripe if its holder is dead; for a stripe that processes moved away from.
     */
    public void repairClassIfHolderDead(int c, int s) {
        long holder = classHolder(c, s);
        if (holder != 0 && holder != token && !ProcessTokens.isAlive(holder)) {
            inClass(c, s, 0, 0, (cc, ss, a, b) -> 0);
        }
    }

    // ---- the buddy lock ----

    /** Runs {@code section} under the buddy lock, holding no other lock; see the class comment. */
    public long inBuddy(long a, long b, Section section) {
        try {
            return inBuddyNested(a, b, section);
        } finally {
            reportIfAny();
        }
    }

    /** Runs {@code section} under the buddy lock inside a class section, which reports any takeover. */
    public long inBuddyNested(long a, long b, Section section) {
        if (counted(SpinLock.acquire(memory, BUDDY_LOCK_OFFSET, token, names[buddyIndex]), buddyIndex) == SpinLock.Result.TAKEN_OVER) {
            runAndUnlockOnFailure(buddyIndex, () -> repairs.rebuildBuddy());
            dev.shmheap.internal.jfr.HeapEvents.lockRepaired("buddy free lists rebuilt from the page map");
        }
        return runAndRelease(buddyIndex, a, b, section);
    }

    // ---- the name-directory lock ----

    /** Runs {@code section} under the name-directory lock; its entries commit with one store, so a takeover needs no repair. */
    public <T> T inNames(Supplier<T> section) {
        if (counted(SpinLock.acquire(memory, NAME_DIRECTORY_LOCK_OFFSET, token, names[nameIndex]), nameIndex) == SpinLock.Result.TAKEN_OVER) {
            dev.shmheap.internal.jfr.HeapEvents.lockRepaired("none needed: each name entry commits with one store");
        }
        T result;
        try {
            result = section.get();
        } finally {
            release(nameIndex, true);
            reportIfAny();
        }
        return result;
    }

    // ---- all allocator locks at once ----

    /** What runs while every allocator lock is held: told how many were taken over from dead owners. */
    @FunctionalInterface
    public interface AllLocksSection<T> {
        T run(int takenOver);
    }

    /**
     * Takes every class-stripe lock and then the buddy lock, in lock order, each within
     * {@code timeoutNanos} while a live process holds it, taking over dead owners without
     * repairing (the section repairs everything); runs {@code section}; releases in reverse.
     * If the section throws, every lock is released marked for repair.
     *
     * @throws IllegalStateException "cannot {@code purpose}: the LOCK is held by live OWNER ..."
     *                               when a lock stays held past the timeout (the locks taken
     *                               so far are released as they were)
     */
    public <T> T withAllocatorLocks(long timeoutNanos, String purpose, AllLocksSection<T> section) {
        int held = 0;
        int takenOver = 0;
        boolean consistent = true;
        try {
            for (; held <= buddyIndex; held++) {
                SpinLock.Result result = counted(SpinLock.acquireWithin(memory, offsets[held], token, names[held], timeoutNanos), held);
                if (!result.held()) {
                    throw new IllegalStateException("cannot " + purpose + ": the " + names[held] + " is held by live "
                            + ProcessTokens.describe(memory.getLongVolatile(offsets[held])) + " for over "
                            + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
                }
                if (result == SpinLock.Result.TAKEN_OVER) {
                    takenOver++;
                    dev.shmheap.internal.jfr.HeapEvents.lockRepaired("left to the caller, which rebuilds the whole heap under every lock");
                }
            }
            consistent = false;
            T value = section.run(takenOver);
            consistent = true;
            return value;
        } finally {
            for (int i = held - 1; i >= 0; i--) {
                release(i, consistent);
            }
            reportIfAny();
        }
    }

    /**
     * Counts a takeover of lock {@code index} in the heap's lifetime counter (header,
     * {@code LOCK_TAKEOVERS_OFFSET}) and keeps it for {@link #reportIfAny()}.
     */
    private SpinLock.Result counted(SpinLock.Result result, int index) {
        if (result == SpinLock.Result.TAKEN_OVER) {
            Counters.addAtomic(memory, LOCK_TAKEOVERS_OFFSET, 1);
            unreported.add(new Pending(names[index], SpinLock.lastTakeover()));
            long dead = SpinLock.lastTakeover().deadOwner();
            dev.shmheap.internal.jfr.HeapEvents.lockTakenOver(names[index], dead == SpinLock.POISONED ? 0 : dead, ProcessTokens::pidOf, t -> ProcessTokens.describe(t, false));
        }
        return result;
    }

    /**
     * Logs and passes on every takeover not yet reported; called after a section released its
     * lock. Costs one read of an empty queue's head when there is none. A listener that throws
     * is logged, not passed to the caller, whose operation has completed.
     */
    private void reportIfAny() {
        if (unreported.isEmpty()) {
            return;
        }
        for (Pending p; (p = unreported.poll()) != null; ) {
            LOG.log(System.Logger.Level.WARNING, SpinLock.describeTakeover(p.lockName(), p.takeover().deadOwner()));
            try {
                listener.tookOver(p.lockName(), p.takeover().deadOwner(), p.takeover().atNanos());
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "a lock takeover listener failed", e);
            }
        }
    }

    // ---- the one place a lock is released ----

    private long runAndRelease(int index, long a, long b, Section section) {
        long result;
        try {
            result = section.run(a, b);
        } catch (Throwable t) {
            release(index, false);
            throw t;
        }
        release(index, true);
        return result;
    }

    private void runAndUnlockOnFailure(int index, Runnable repair) {
        try {
            repair.run();
        } catch (Throwable t) {
            release(index, false);
            throw t;
        }
    }

    /** Releases lock {@code index}: free if the section completed, else marked for repair by the next taker. */
    private void release(int index, boolean consistent) {
        if (consistent) {
            SpinLock.release(memory, offsets[index], token);
        } else {
            SpinLock.releasePoisoned(memory, offsets[index], token);
        }
    }
}
