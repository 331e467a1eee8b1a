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
import org.openjdk.jcstress.infra.results.II_Result;
import org.openjdk.jcstress.infra.results.I_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Publication through {@link SpinLock}: plain writes made to mapped memory inside the lock must
 * all be visible to the next holder (the release store of the lock word orders them before it,
 * the acquiring CAS orders the holder's reads after it), and none of them to a holder that
 * went first.
 */
public final class SpinLockPublicationTest {
    private SpinLockPublicationTest() {
    }

    static final int WORDS = 8;

    /** A lock word and {@link #WORDS} plain data words it guards, in one mapped slot. */
    @State
    public static class Guarded {
        static final long TOKEN = ProcessIdentity.current();
        final MappedSlots.Slot slot = MappedSlots.take();
        final MappedMemory memory = slot.memory;
        final long lock = slot.lock();

        void lock() {
            SpinLock.acquire(memory, lock, TOKEN, "jcstress lock");
        }

        void unlock() {
            SpinLock.release(memory, lock, TOKEN);
        }

        long word(int i) {
            return memory.getLong(slot.data(i));
        }

        void putWord(int i, long value) {
            memory.putLong(slot.data(i), value);
        }

        void done() {
            MappedSlots.give(slot);
        }
    }

    @JCStressTest
    @Description("A writer fills 8 words under the lock; a reader counts, under the lock, how many it sees.")
    @Outcome(id = "0", expect = ACCEPTABLE, desc = "the reader went first and saw none of the writes")
    @Outcome(id = "8", expect = ACCEPTABLE, desc = "the writer went first and the reader saw all of its writes")
    @Outcome(expect = FORBIDDEN, desc = "the reader saw part of the writer's critical section")
    public static class WriterReader {
        @Actor
        public void writer(Guarded s) {
            s.lock();
            for (int i = 0; i < WORDS; i++) {
                s.putWord(i, i + 1);
            }
            s.unlock();
        }

        @Actor
        public void reader(Guarded s, I_Result r) {
            s.lock();
            int seen = 0;
            for (int i = WORDS - 1; i >= 0; i--) {
                if (s.word(i) == i + 1) {
                    seen++;
                }
            }
            s.unlock();
            r.r1 = seen;
        }

        @Arbiter
        public void arbiter(Guarded s) {
            s.done();
        }
    }

    @JCStressTest
    @Description("Both holders read the pair (x, y), then write (x + 1, y + 1), under the lock; each reports the x it saw, -1 if x != y.")
    @Outcome(id = {"0, 1", "1, 0"}, expect = ACCEPTABLE, desc = "the second holder saw the first holder's writes")
    @Outcome(id = "0, 0", expect = FORBIDDEN, desc = "the second holder missed the first holder's writes, or both were inside at once")
    @Outcome(expect = FORBIDDEN, desc = "a torn pair (-1) or any other value")
    public static class Handoff {
        @Actor
        public void actor1(Guarded s, II_Result r) {
            r.r1 = step(s);
        }

        @Actor
        public void actor2(Guarded s, II_Result r) {
            r.r2 = step(s);
        }

        private static int step(Guarded s) {
            s.lock();
            long x = s.word(0);
            long y = s.word(1);
            s.putWord(1, y + 1);
            s.putWord(0, x + 1);
            s.unlock();
            return x == y ? (int) x : -1;
        }

        @Arbiter
        public void arbiter(Guarded s) {
            s.done();
        }
    }
}
