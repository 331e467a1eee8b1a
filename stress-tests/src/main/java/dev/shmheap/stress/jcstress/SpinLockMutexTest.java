package dev.shmheap.stress.jcstress;

import dev.shmheap.ProcessIdentity;
import dev.shmheap.internal.lock.SpinLock;
import dev.shmheap.internal.memory.MappedMemory;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;
import org.openjdk.jcstress.infra.results.JJ_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Mutual exclusion of {@link SpinLock} on a lock word in mapped memory: two threads of one
 * process (the same token, as in the heap) each take the lock and increment a counter in the
 * same mapping with a plain read and a plain write. Any overlap of the two critical sections
 * can lose an update.
 */
public final class SpinLockMutexTest {
    private SpinLockMutexTest() {
    }

    /** A lock word and the counter it guards, in one slot of a /dev/shm mapping. */
    @State
    public static class Guarded {
        static final long TOKEN = ProcessIdentity.current();
        final MappedSlots.Slot slot = MappedSlots.take();
        final MappedMemory memory = slot.memory;
        final long lock = slot.lock();
        final long counter = slot.data(0);

        /** Plain read, plain write: correct only inside the lock. */
        void incrementPlain() {
            memory.putLong(counter, memory.getLong(counter) + 1);
        }

        long counter() {
            return memory.getLongVolatile(counter);
        }

        long lockWord() {
            return memory.getLongVolatile(lock);
        }

        void done() {
            MappedSlots.give(slot);
        }
    }

    @JCStressTest
    @Description("SpinLock.acquire/release: two increments under the lock, the lock free afterwards.")
    @Outcome(id = "2, 0", expect = ACCEPTABLE, desc = "both increments survived; the lock is free")
    @Outcome(id = "1, 0", expect = FORBIDDEN, desc = "lost update: the critical sections overlapped")
    @Outcome(expect = FORBIDDEN, desc = "any other count, or the lock word left non-zero")
    public static class Acquire {
        @Actor
        public void actor1(Guarded s) {
            increment(s);
        }

        @Actor
        public void actor2(Guarded s) {
            increment(s);
        }

        private static void increment(Guarded s) {
            SpinLock.acquire(s.memory, s.lock, Guarded.TOKEN, "jcstress lock");
            s.incrementPlain();
            SpinLock.release(s.memory, s.lock, Guarded.TOKEN);
        }

        @Arbiter
        public void arbiter(Guarded s, JJ_Result r) {
            r.r1 = s.counter();
            r.r2 = s.lockWord();
            s.done();
        }
    }

    @JCStressTest
    @Description("SpinLock.tryAcquire: whoever gets in increments; a refusal means the other held the lock.")
    @Outcome(id = "1, 1, 2, 0", expect = ACCEPTABLE, desc = "both got in, one after the other")
    @Outcome(id = {"1, 0, 1, 0", "0, 1, 1, 0"}, expect = ACCEPTABLE, desc = "one got in, the other found it held")
    @Outcome(id = "1, 1, 1, 0", expect = FORBIDDEN, desc = "lost update: both were inside at once")
    @Outcome(id = "0, 0, 0, 0", expect = FORBIDDEN, desc = "both refused: a spurious failure, nobody held it")
    @Outcome(expect = FORBIDDEN, desc = "any other combination, or the lock word left non-zero")
    public static class TryAcquire {
        @Actor
        public void actor1(Guarded s, IIII_Result r) {
            r.r1 = tryIncrement(s);
        }

        @Actor
        public void actor2(Guarded s, IIII_Result r) {
            r.r2 = tryIncrement(s);
        }

        private static int tryIncrement(Guarded s) {
            if (!SpinLock.tryAcquire(s.memory, s.lock, Guarded.TOKEN)) {
                return 0;
            }
            s.incrementPlain();
            SpinLock.release(s.memory, s.lock, Guarded.TOKEN);
            return 1;
        }

        @Arbiter
        public void arbiter(Guarded s, IIII_Result r) {
            r.r3 = (int) s.counter();
            r.r4 = s.lockWord() == 0 ? 0 : 1;
            s.done();
        }
    }
}
