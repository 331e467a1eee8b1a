package dev.shmheap.stress.jcstress;

import dev.shmheap.ProcessIdentity;
import dev.shmheap.internal.lock.SpinLock;
import dev.shmheap.internal.lock.SpinLock.Result;
import dev.shmheap.internal.memory.MappedMemory;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Mode;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.Signal;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.LLL_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The owner-takeover path of {@link SpinLock}: a waiter that finds the lock word naming a dead
 * owner takes the lock over with one CAS and reports {@link Result#TAKEN_OVER}; a live owner
 * is never robbed.
 *
 * <p>The termination tests start with the lock held by a live owner (this process's token, as
 * if another thread of it held the lock); the waiter must not get in until the signal changes
 * the word, and must then terminate: by takeover when the signal leaves a dead token, by a
 * plain acquire when it releases normally. Each sample takes at least a millisecond, since a
 * waiter checks liveness only after {@code LIVENESS_CHECK_NANOS}.
 */
public final class SpinLockTakeoverTest {
    private SpinLockTakeoverTest() {
    }

    static final long TOKEN = ProcessIdentity.current();

    /** A lock word in a mapped slot, held at the start by {@code initialOwner}. */
    abstract static class LockWord {
        final MappedSlots.Slot slot = MappedSlots.take();
        final MappedMemory memory = slot.memory;
        final long lock = slot.lock();
        final long counter = slot.data(0);

        LockWord(long initialOwner) {
            memory.putLongVolatile(lock, initialOwner);
        }

        /**
         * Waits for the lock; throws unless it was got as {@code expected} with our token in the
         * word. Releases it and gives the slot back, so the state is finished after this.
         */
        void acquireExpecting(Result expected) {
            Result acquired = SpinLock.acquire(memory, lock, TOKEN, "jcstress lock");
            long word = memory.getLongVolatile(lock);
            SpinLock.release(memory, lock, TOKEN);
            MappedSlots.give(slot);
            if (acquired != expected || word != TOKEN) {
                throw new IllegalStateException("expected " + expected + " with our token in the lock word, got " + acquired
                        + " with " + SpinLock.lockStateToString(word));
            }
        }
    }

    /** The lock is held by a live owner: this process. */
    @State
    public static class HeldByLiveOwner extends LockWord {
        public HeldByLiveOwner() {
            super(TOKEN);
        }
    }

    @JCStressTest(Mode.Termination)
    @Description("The owner leaves the lock with releasePoisoned (word = POISONED, pid 0): the waiter takes it over.")
    @Outcome(id = "TERMINATED", expect = ACCEPTABLE, desc = "the waiter took the lock over")
    @Outcome(id = "STALE", expect = FORBIDDEN, desc = "the waiter never noticed that the owner is gone")
    @Outcome(id = "ERROR", expect = FORBIDDEN, desc = "the waiter got in, but not by takeover or without its token in the word")
    public static class PoisonedRelease {
        @Actor
        public void waiter(HeldByLiveOwner s) {
            s.acquireExpecting(Result.TAKEN_OVER);
        }

        @Signal
        public void ownerGivesUp(HeldByLiveOwner s) {
            SpinLock.releasePoisoned(s.memory, s.lock, TOKEN);
        }
    }

    @JCStressTest(Mode.Termination)
    @Description("The lock word changes to a token with pid 0: the waiter takes it over.")
    @Outcome(id = "TERMINATED", expect = ACCEPTABLE, desc = "the waiter took the lock over")
    @Outcome(id = "STALE", expect = FORBIDDEN, desc = "the waiter never noticed that the owner is dead")
    @Outcome(id = "ERROR", expect = FORBIDDEN, desc = "the waiter got in, but not by takeover or without its token in the word")
    public static class PidZeroOwner {
        @Actor
        public void waiter(HeldByLiveOwner s) {
            s.acquireExpecting(Result.TAKEN_OVER);
        }

        @Signal
        public void ownerDies(HeldByLiveOwner s) {
            s.memory.putLongRelease(s.lock, DeadTokens.PID_ZERO);
        }
    }

    @JCStressTest(Mode.Termination)
    @Description("The lock word changes to the token of a process that has exited: the waiter takes it over.")
    @Outcome(id = "TERMINATED", expect = ACCEPTABLE, desc = "the waiter took the lock over")
    @Outcome(id = "STALE", expect = FORBIDDEN, desc = "the waiter never noticed that the owner is dead")
    @Outcome(id = "ERROR", expect = FORBIDDEN, desc = "the waiter got in, but not by takeover or without its token in the word")
    public static class ExitedOwner {
        @Actor
        public void waiter(HeldByLiveOwner s) {
            s.acquireExpecting(Result.TAKEN_OVER);
        }

        @Signal
        public void ownerDies(HeldByLiveOwner s) {
            s.memory.putLongRelease(s.lock, DeadTokens.EXITED_PROCESS);
        }
    }

    @JCStressTest(Mode.Termination)
    @Description("The live owner releases normally: the waiter gets the lock as ACQUIRED, not TAKEN_OVER.")
    @Outcome(id = "TERMINATED", expect = ACCEPTABLE, desc = "the waiter got the released lock")
    @Outcome(id = "STALE", expect = FORBIDDEN, desc = "the waiter missed the release")
    @Outcome(id = "ERROR", expect = FORBIDDEN, desc = "the waiter reported a takeover of a lock whose owner is alive")
    public static class LiveRelease {
        @Actor
        public void waiter(HeldByLiveOwner s) {
            s.acquireExpecting(Result.ACQUIRED);
        }

        @Signal
        public void ownerReleases(HeldByLiveOwner s) {
            SpinLock.release(s.memory, s.lock, TOKEN);
        }
    }

    /** Two waiters race for a lock whose owner is dead; each increments a plain counter inside. */
    abstract static class Race extends LockWord {
        Race(long deadOwner) {
            super(deadOwner);
        }

        String enter() {
            Result acquired = SpinLock.acquire(memory, lock, TOKEN, "jcstress lock");
            memory.putLong(counter, memory.getLong(counter) + 1);
            SpinLock.release(memory, lock, TOKEN);
            return acquired.name();
        }

        String end() {
            long count = memory.getLongVolatile(counter);
            long word = memory.getLongVolatile(lock);
            MappedSlots.give(slot);
            return word == 0 ? Long.toString(count) : count + " (lock " + SpinLock.lockStateToString(word) + ")";
        }
    }

    @State
    public static class PoisonedLock extends Race {
        public PoisonedLock() {
            super(SpinLock.POISONED);
        }
    }

    @State
    public static class ExitedOwnerLock extends Race {
        public ExitedOwnerLock() {
            super(DeadTokens.EXITED_PROCESS);
        }
    }

    @JCStressTest
    @Description("Two waiters race to take over a POISONED lock: exactly one repairs, the other waits for it.")
    @Outcome(id = {"TAKEN_OVER, ACQUIRED, 2", "ACQUIRED, TAKEN_OVER, 2"}, expect = ACCEPTABLE,
            desc = "one took over, the other got the lock after it")
    @Outcome(id = "TAKEN_OVER, TAKEN_OVER, 2", expect = FORBIDDEN, desc = "both took over: both were inside")
    @Outcome(id = "ACQUIRED, ACQUIRED, 2", expect = FORBIDDEN, desc = "nobody took over: the dead owner's word was lost")
    @Outcome(expect = FORBIDDEN, desc = "a lost update (count 1), or the lock left held")
    public static class TakeoverRacePoisoned {
        @Actor
        public void actor1(PoisonedLock s, LLL_Result r) {
            r.r1 = s.enter();
        }

        @Actor
        public void actor2(PoisonedLock s, LLL_Result r) {
            r.r2 = s.enter();
        }

        @Arbiter
        public void arbiter(PoisonedLock s, LLL_Result r) {
            r.r3 = s.end();
        }
    }

    @JCStressTest
    @Description("Two waiters race to take over a lock held by an exited process: exactly one repairs.")
    @Outcome(id = {"TAKEN_OVER, ACQUIRED, 2", "ACQUIRED, TAKEN_OVER, 2"}, expect = ACCEPTABLE,
            desc = "one took over, the other got the lock after it")
    @Outcome(id = "TAKEN_OVER, TAKEN_OVER, 2", expect = FORBIDDEN, desc = "both took over: both were inside")
    @Outcome(id = "ACQUIRED, ACQUIRED, 2", expect = FORBIDDEN, desc = "nobody took over: the dead owner's word was lost")
    @Outcome(expect = FORBIDDEN, desc = "a lost update (count 1), or the lock left held")
    public static class TakeoverRaceExitedOwner {
        @Actor
        public void actor1(ExitedOwnerLock s, LLL_Result r) {
            r.r1 = s.enter();
        }

        @Actor
        public void actor2(ExitedOwnerLock s, LLL_Result r) {
            r.r2 = s.enter();
        }

        @Arbiter
        public void arbiter(ExitedOwnerLock s, LLL_Result r) {
            r.r3 = s.end();
        }
    }
}
