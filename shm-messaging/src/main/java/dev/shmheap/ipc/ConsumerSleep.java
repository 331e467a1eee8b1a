package dev.shmheap.ipc;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.shmheap.Backoff;
import dev.shmheap.ShmHeap;

import java.util.concurrent.locks.LockSupport;

import static dev.shmheap.ipc.ChannelDescriptor.*;

/**
 * How a {@link ShmReceiver} waits for the slot at head: spin, then yield, then sleep in
 * FUTEX_WAIT on the channel's waiting word until a producer commits (the handshake is in
 * {@link ShmChannel}, "Sleep"). Sleeps are capped at {@link #MAX_SLEEP_NANOS}, and at
 * {@link ShmChannel#LIVENESS_CHECK_NANOS} while the slot at head is claimed, so that a producer
 * that died holding it is noticed. For the receiver's thread only.
 */
final class ConsumerSleep {
    static final long MAX_SLEEP_NANOS = 100_000_000;
    /**
     * Longest first sleep after the consumer announced it sleeps: a bound on how long a
     * producer's commit can sit in its store buffer, invisible to the consumer's re-check, after
     * the producer read the waiting word as "awake" (store buffers drain in well under a
     * microsecond unless the line is contended; 50 us leaves a wide margin). See {@link ShmChannel}, "Sleep".
     */
    static final long FIRST_SLEEP_NANOS = 50_000;
    private static final int SPINS = 2_000;
    private static final int YIELDS = 50;
    private static final long FALLBACK_PARK_NANOS = 50_000;
    /** Bytes of the {@code struct timespec} FUTEX_WAIT reads its timeout from. */
    private static final int TIMESPEC_BYTES = 16;

    private final ShmChannel channel;
    private final ShmHeap heap;
    private final ChannelMemory memory;
    private final long waitingOffset;
    private final int capacity;
    private final int slotLength;
    private final Memory timespec = new Memory(TIMESPEC_BYTES);
    /** Whether this receiver has set the waiting word and not cleared it since. */
    private boolean announced;
    /** Futex sleeps since the waiting word was last set. */
    private int sleepsSinceAnnounce;
    /** True while a timed read sleeps between polls: then every poll of a claimed slot reads the clock. */
    private boolean sleeping;
    /** The wait {@link #start} reuses, and the timeout it was made for. */
    private Backoff backoff;
    private long backoffTimeoutNanos;

    ConsumerSleep(ShmChannel channel) {
        this.channel = channel;
        this.heap = channel.heap();
        this.memory = channel.memory();
        this.waitingOffset = channel.base() + WAITING_OFFSET;
        this.capacity = channel.capacity();
        this.slotLength = channel.slotLength();
    }

    /**
     * The wait of a timed read or poll, started now: the last one is kept and reset when the
     * timeout is the same, so that a consumer calling with one timeout allocates nothing.
     */
    Backoff start(long timeoutNanos) {
        if (backoff == null || backoffTimeoutNanos != timeoutNanos) {
            backoff = Backoff.of(timeoutNanos, SPINS, YIELDS, MAX_SLEEP_NANOS);
            backoffTimeoutNanos = timeoutNanos;
        } else {
            backoff.reset();
        }
        return backoff;
    }

    /**
     * One step of waiting for the slot at {@code head}: spin, then yield, then (with the waiting
     * word announced by a CAS, a full fence, and the slot re-checked after it) FUTEX_WAIT: the
     * first sleep after an announcement at most {@link #FIRST_SLEEP_NANOS}, later ones longer.
     */
    void idle(Backoff backoff, long head) throws InterruptedException {
        if (!backoff.parking()) {
            backoff.idle();
            return;
        }
        sleeping = true;
        if (Thread.interrupted()) {
            throw new InterruptedException("waiting on channel '" + channel.name() + "'");
        }
        long remaining = backoff.remainingNanos();
        if (remaining <= 0) {
            return;
        }
        if (!announced || heap.getLongVolatile(waitingOffset) == 0) {
            // First time, or a producer has cleared the word to wake this consumer.
            announce();
            announced = true;
            sleepsSinceAnnounce = 0;
        }
        long sequence = memory.getLongVolatile(slotOffset(head, capacity, slotLength) + SLOT_SEQUENCE_OFFSET);
        if (sequence == head + capacity) {
            return; // committed after all: the caller reads it
        }
        boolean claimed = heap.getLongVolatile(channel.base() + TAIL_OFFSET) > head;
        long cap = sleepsSinceAnnounce == 0 ? FIRST_SLEEP_NANOS : claimed ? ShmChannel.LIVENESS_CHECK_NANOS : MAX_SLEEP_NANOS;
        long sleep = Math.min(remaining, cap);
        if (Futex.AVAILABLE) {
            Futex.await(channel.futexAddress(), 1, sleep, Pointer.nativeValue(timespec));
            long waits = channel.base() + FUTEX_WAITS_OFFSET;
            heap.putLongRelease(waits, heap.getLong(waits) + 1);
        } else {
            LockSupport.parkNanos(Math.min(sleep, FALLBACK_PARK_NANOS));
        }
        sleepsSinceAnnounce++;
    }

    /** After a timed wait: clears the waiting word if this receiver set it, so that producers stop waking it. */
    void wakeUp() {
        sleeping = false;
        if (announced) {
            announced = false;
            clear();
        }
    }

    /** A batch was delivered: the receiver is not between sleeps. */
    void awake() {
        sleeping = false;
    }

    boolean sleeping() {
        return sleeping;
    }

    /** Clears the waiting word (if it is set). */
    void clear() {
        heap.compareAndSetLong(waitingOffset, 1, 0);
    }

    /** Sets the waiting word to 1 with a CAS (a full fence), even when it already is 1. */
    private void announce() {
        while (!heap.compareAndSetLong(waitingOffset, 0, 1)) {
            if (heap.getLongVolatile(waitingOffset) == 1 && heap.compareAndSetLong(waitingOffset, 1, 1)) {
                return;
            }
        }
    }
}
