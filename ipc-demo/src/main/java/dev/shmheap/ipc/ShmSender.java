package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static dev.shmheap.ipc.ChannelDescriptor.*;

/**
 * A producer attached to a {@link ShmChannel}: owns one entry of the channel's producer table
 * until {@link #close()}. For one thread; attach one sender per producing thread.
 */
public final class ShmSender implements MessageSender {
    private static final long FULL = -1;
    private static final int SPINS = 100;
    private static final int YIELDS = 20;
    private static final long MAX_PARK_NANOS = 1_000_000;

    private final ShmChannel channel;
    private final ShmHeap heap;
    private final int index;
    private final long token;
    private final long tailOffset;
    private final long entryOffset;
    private boolean closed;

    ShmSender(ShmChannel channel, int index, long token) {
        this.channel = channel;
        this.heap = channel.heap();
        this.index = index;
        this.token = token;
        this.tailOffset = channel.base() + TAIL_OFFSET;
        this.entryOffset = channel.base() + producerEntryOffset(index);
    }

    @Override
    public boolean offer(long offset, long length) {
        checkMessage(offset, length);
        long position = claim();
        return position != FULL && publish(position, offset, length);
    }

    /**
     * Like {@link #offer(long, long)} but without asking the heap whether {@code offset} is a
     * live block of at least {@code length} bytes, for hot paths whose blocks come straight
     * from {@code allocate} (or from a receiver). That lookup reads the page map and the slab
     * occupancy word, which the other process's {@code free} keeps writing: a cache miss per
     * message. Checks only that {@code length} is positive; a bad offset is caught by the
     * receiver's checks and by the heap's {@code free}.
     */
    public boolean offerTrusted(long offset, long length) {
        ensureOpen();
        if (length < 1) {
            throw new IllegalArgumentException("length=" + length + " must be positive");
        }
        long position = claim();
        return position != FULL && publish(position, offset, length);
    }

    @Override
    public boolean offer(long offset, long length, long timeout, TimeUnit unit) throws InterruptedException {
        checkMessage(offset, length);
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        long park = 1_000;
        for (int attempt = 0; ; attempt++) {
            long position = claim();
            if (position != FULL && publish(position, offset, length)) {
                return true;
            }
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                return false;
            }
            if (attempt < SPINS) {
                Thread.onSpinWait();
            } else if (attempt < SPINS + YIELDS) {
                Thread.yield();
            } else {
                if (Thread.interrupted()) {
                    throw new InterruptedException("offer to channel '" + channel.name() + "'");
                }
                LockSupport.parkNanos(Math.min(park, remaining));
                park = Math.min(park * 2, MAX_PARK_NANOS);
            }
        }
    }

    /**
     * Claims the slot at tail: returns its position, or {@link #FULL} when the slot at tail
     * still holds an entry of the previous lap that the consumer has not freed.
     */
    long claim() {
        ensureOpen();
        for (;;) {
            long position = heap.getLongVolatile(tailOffset);
            if (position >= POSITION_MASK - channel.capacity()) {
                throw new IllegalStateException("channel '" + channel.name() + "' has used up its 2^56 positions");
            }
            long sequenceOffset = channel.slot(position) + SLOT_SEQUENCE_OFFSET;
            long sequence = heap.getLongVolatile(sequenceOffset);
            if (sequence == position) {
                if (heap.compareAndSetLong(sequenceOffset, position, claimed(index, position))) {
                    heap.compareAndSetLong(tailOffset, position, position + 1);
                    return position;
                }
            } else if (position(sequence) < position) {
                if (heap.getLongVolatile(tailOffset) == position) {
                    return FULL;
                }
            } else {
                // Claimed, published or even consumed for this position already: whoever
                // claimed it has not advanced tail yet (or died first). Help it along.
                heap.compareAndSetLong(tailOffset, position, position + 1);
            }
        }
    }

    /**
     * Fills the claimed slot and publishes it with a CAS: a full fence, so the read of the
     * consumer's waiting word in {@link ShmChannel#wakeConsumer()} cannot move before it.
     *
     * @return false only if the consumer took this process for dead and skipped the slot
     */
    boolean publish(long position, long offset, long length) {
        long slot = channel.slot(position);
        heap.putLong(slot + SLOT_MESSAGE_OFFSET, offset);
        heap.putLong(slot + SLOT_LENGTH_OFFSET, length);
        if (!heap.compareAndSetLong(slot + SLOT_SEQUENCE_OFFSET, claimed(index, position), position + 1)) {
            return false;
        }
        channel.wakeConsumer();
        return true;
    }

    /**
     * Test hook: claims a slot and never publishes it, as a producer killed between claim and
     * publish would. Returns the position, or -1 if the ring is full.
     */
    long claimWithoutPublishing() {
        return claim();
    }

    private void checkMessage(long offset, long length) {
        ensureOpen();
        long usable = heap.usableSize(offset);
        if (length < 1 || length > usable) {
            throw new IllegalArgumentException("length=" + length + " must be in [1, " + usable + "] for the block at offset=" + offset);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("sender of channel '" + channel.name() + "' is closed");
        }
    }

    /** Index of this producer in the channel's producer table. */
    public int producerIndex() {
        return index;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            heap.compareAndSetLong(entryOffset, token, 0);
        }
    }

    @Override
    public String toString() {
        return "ShmSender{" + channel + ", producer " + index + "}";
    }
}
