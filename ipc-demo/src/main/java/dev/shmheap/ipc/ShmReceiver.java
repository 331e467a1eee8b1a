package dev.shmheap.ipc;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.shmheap.ShmHeap;
import dev.shmheap.ProcessIdentity;

import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static dev.shmheap.ipc.ChannelDescriptor.*;

/**
 * The consumer of a {@link ShmChannel}: holds the channel's consumer word until
 * {@link #close()}. For one thread.
 *
 * <p>{@link #poll(long, TimeUnit)} spins, then yields, then sleeps in FUTEX_WAIT on the
 * channel's waiting word until a producer publishes (see {@link ShmChannel} for the
 * handshake). Sleeps are capped at {@link #MAX_SLEEP_NANOS}, and at
 * {@link ShmChannel#LIVENESS_CHECK_NANOS} while the slot at head is claimed, so that a producer
 * that died holding it is noticed.
 */
public final class ShmReceiver implements MessageReceiver {
    static final long MAX_SLEEP_NANOS = 100_000_000;
    private static final int SPINS = 2_000;
    private static final int YIELDS = 50;
    private static final long FALLBACK_PARK_NANOS = 50_000;

    private final ShmChannel channel;
    private final ShmHeap heap;
    private final long token;
    private final int capacity;
    private final long headOffset;
    private final long waitingOffset;
    private final Memory timespec = new Memory(16);
    private long head;
    private long stuckPosition = -1;
    private long nextLivenessCheck;
    private boolean closed;

    ShmReceiver(ShmChannel channel, long token, long head) {
        this.channel = channel;
        this.heap = channel.heap();
        this.token = token;
        this.capacity = channel.capacity();
        this.headOffset = channel.base() + HEAD_OFFSET;
        this.waitingOffset = channel.base() + WAITING_OFFSET;
        this.head = head;
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalStateException if the slot at head names something that is not a live
     *                               block of at least its length (a buggy producer or a corrupt
     *                               file); the slot is consumed first, so the next poll goes on
     */
    @Override
    public Optional<Message> poll() {
        ensureOpen();
        for (;;) {
            long slot = channel.slot(head);
            long sequence = heap.getLongVolatile(slot + SLOT_SEQUENCE_OFFSET);
            if (sequence == head + 1) {
                long offset = heap.getLong(slot + SLOT_MESSAGE_OFFSET);
                long length = heap.getLong(slot + SLOT_LENGTH_OFFSET);
                long position = head;
                releasePublished(slot);
                heap.putLongRelease(headOffset, head);
                return Optional.of(checked(position, offset, length));
            }
            if (isClaimed(sequence) && position(sequence) == head && (isAbandoned(sequence) || claimantDead(sequence))) {
                if (release(slot, sequence)) {
                    countSkipped();
                }
                continue;
            }
            return Optional.empty();
        }
    }

    /**
     * Hands up to {@code limit} ready messages to {@code handler}, in order, without waiting and
     * without allocating; returns how many it handed over (0 if none was ready). The hot-path
     * form of {@link #poll()}: each slot is freed and head advanced before its message goes to
     * the handler (so a handler that throws has still taken its message), and head is published
     * once per call.
     *
     * <p>Unlike {@link #poll()}, it does not ask the heap whether each offset is a live block of
     * at least its length: that lookup reads the page map and the slab occupancy word the
     * producer's {@code allocate} has just written, a cache miss per message between processes.
     * It checks only that the offset lies in the heap's data region and the length is positive
     * (the heap's accessors and {@code free} check every later access anyway).
     *
     * @throws IllegalStateException if a slot carries an offset outside the data region or a
     *                               length below 1 (the slot is consumed first)
     */
    public int poll(MessageHandler handler, int limit) {
        ensureOpen();
        int handed = 0;
        try {
            while (handed < limit) {
                long slot = channel.slot(head);
                long sequence = heap.getLongVolatile(slot + SLOT_SEQUENCE_OFFSET);
                if (sequence == head + 1) {
                    long offset = heap.getLong(slot + SLOT_MESSAGE_OFFSET);
                    long length = heap.getLong(slot + SLOT_LENGTH_OFFSET);
                    long position = head;
                    releasePublished(slot);
                    handed++;
                    handler.onMessage(checkedCheaply(position, offset, length), length);
                } else if (isClaimed(sequence) && position(sequence) == head
                        && (isAbandoned(sequence) || claimantDead(sequence))) {
                    if (release(slot, sequence)) {
                        countSkipped();
                    }
                } else {
                    break;
                }
            }
        } finally {
            heap.putLongRelease(headOffset, head);
        }
        return handed;
    }

    @Override
    public Optional<Message> poll(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        for (int i = 0; i < SPINS + YIELDS; i++) {
            Optional<Message> message = poll();
            if (message.isPresent()) {
                return message;
            }
            if (i < SPINS) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        for (;;) {
            if (Thread.interrupted()) {
                throw new InterruptedException("poll of channel '" + channel.name() + "'");
            }
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                return poll();
            }
            announceSleep();
            // The CAS above is a full fence: this re-check cannot miss a publish whose
            // producer then read the waiting word as 0.
            Optional<Message> message = poll();
            if (message.isPresent()) {
                clearSleep();
                return message;
            }
            long cap = isClaimed(heap.getLongVolatile(channel.slot(head) + SLOT_SEQUENCE_OFFSET))
                    ? ShmChannel.LIVENESS_CHECK_NANOS : MAX_SLEEP_NANOS;
            long sleep = Math.min(remaining, cap);
            if (Futex.AVAILABLE) {
                Futex.await(channel.futexAddress(), 1, sleep, Pointer.nativeValue(timespec));
                long waits = channel.base() + FUTEX_WAITS_OFFSET;
                heap.putLongRelease(waits, heap.getLong(waits) + 1);
            } else {
                LockSupport.parkNanos(Math.min(sleep, FALLBACK_PARK_NANOS));
            }
            clearSleep();
            message = poll();
            if (message.isPresent()) {
                return message;
            }
        }
    }

    /** Sets the waiting word to 1 with a CAS (a full fence), even when it already is 1. */
    private void announceSleep() {
        while (!heap.compareAndSetLong(waitingOffset, 0, 1)) {
            if (heap.getLongVolatile(waitingOffset) == 1 && heap.compareAndSetLong(waitingOffset, 1, 1)) {
                return;
            }
        }
    }

    private void clearSleep() {
        heap.compareAndSetLong(waitingOffset, 1, 0);
    }

    /**
     * Frees the slot at head for the next lap, then advances head (in that order: a consumer
     * killed in between leaves head behind a freed slot, which the next receiver skips).
     */
    /**
     * Frees the published slot at head for the next lap and advances head in this object only;
     * the caller publishes head. A plain ordered store suffices (no CAS): once published, a
     * slot's sequence is changed by nobody but the consumer (producers CAS only from the free
     * value of their own lap, and abandonment only touches claimed slots). A store does not
     * stall the consumer the way a locked CAS on a line the producer holds would.
     */
    private void releasePublished(long slot) {
        heap.putLongRelease(slot + SLOT_SEQUENCE_OFFSET, head + capacity);
        head++;
    }

    private long checkedCheaply(long position, long offset, long length) {
        if (length < 1) {
            throw new IllegalStateException("channel '" + channel.name() + "' position " + position + " carried length=" + length);
        }
        try {
            heap.address(offset);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("channel '" + channel.name() + "' position " + position + " carried offset=" + offset
                    + " outside the heap's data region: " + e.getMessage(), e);
        }
        return offset;
    }

    private boolean release(long slot, long sequence) {
        if (!heap.compareAndSetLong(slot + SLOT_SEQUENCE_OFFSET, sequence, head + capacity)) {
            return false;
        }
        head++;
        heap.putLongRelease(headOffset, head);
        return true;
    }

    /**
     * True once the slot at head has been claimed for at least
     * {@link ShmChannel#LIVENESS_CHECK_NANOS} and the claiming producer's table entry names a
     * dead process (or none). Checks /proc at most once per interval.
     */
    private boolean claimantDead(long sequence) {
        long now = System.nanoTime();
        if (stuckPosition != head) {
            stuckPosition = head;
            nextLivenessCheck = now + ShmChannel.LIVENESS_CHECK_NANOS;
            return false;
        }
        if (now - nextLivenessCheck < 0) {
            return false;
        }
        nextLivenessCheck = now + ShmChannel.LIVENESS_CHECK_NANOS;
        long owner = heap.getLongVolatile(channel.base() + producerEntryOffset(claimant(sequence)));
        return owner == 0 || !ProcessIdentity.isAlive(owner);
    }

    private void countSkipped() {
        long skipped = channel.base() + SKIPPED_OFFSET;
        heap.putLongRelease(skipped, heap.getLong(skipped) + 1);
    }

    private Message checked(long position, long offset, long length) {
        long usable;
        try {
            usable = heap.usableSize(offset);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("channel '" + channel.name() + "' position " + position + " carried offset=" + offset
                    + ", which is not a live block: " + e.getMessage(), e);
        }
        if (length < 1 || length > usable) {
            throw new IllegalStateException("channel '" + channel.name() + "' position " + position + " carried length=" + length
                    + " for the " + usable + "-byte block at offset=" + offset);
        }
        return new Message(offset, length);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("receiver of channel '" + channel.name() + "' is closed");
        }
    }

    /** The next position this receiver reads. */
    public long nextPosition() {
        return head;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            clearSleep();
            heap.compareAndSetLong(channel.base() + CONSUMER_OFFSET, token, 0);
        }
    }

    @Override
    public String toString() {
        return "ShmReceiver{" + channel + ", head=" + head + "}";
    }
}
