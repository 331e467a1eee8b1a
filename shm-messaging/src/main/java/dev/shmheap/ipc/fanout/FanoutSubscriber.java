package dev.shmheap.ipc.fanout;

import dev.shmheap.Backoff;
import dev.shmheap.ShmHeap;

import java.util.concurrent.TimeUnit;

import static dev.shmheap.ipc.fanout.FanoutDescriptor.*;

/**
 * A subscriber of a {@link FanoutChannel}: owns one entry of the subscriber table until
 * {@link #close()} and reads every message published since it joined, in order, in place. For
 * one thread.
 *
 * <p>Its position word is its release: after a batch it release-stores the next position it
 * will read, and from then on the blocks below it may be freed. If it was the slowest
 * subscriber, it then frees them itself (see {@link FanoutChannel}'s reclaim step), once at
 * least {@link #reclaimBatch} of them are ready, so that reclaims (a lock and a scan of the
 * table) are amortised over many messages.
 */
public final class FanoutSubscriber implements AutoCloseable {
    /** Spins before yielding: a message usually follows within a few hundred nanoseconds under load. */
    static final int SPINS = 200;
    static final int YIELDS = 20;
    /** Longest park while waiting: bounds the reaction time to a message that arrives meanwhile. */
    static final long MAX_PARK_NANOS = 1_000_000;

    private final FanoutChannel channel;
    private final ShmHeap heap;
    private final int index;
    private final long token;
    private final long tailOffset;
    private final long positionOffset;
    private final long tokenOffset;
    private final long reclaimedOffset;
    private final long reclaimBatch;
    private long position;
    /** The publisher's tail as last read: messages below it may be read without another volatile read. */
    private long knownTail;
    private boolean closed;

    FanoutSubscriber(FanoutChannel channel, int index, long token, long position) {
        this.channel = channel;
        this.heap = channel.heap();
        this.index = index;
        this.token = token;
        this.tailOffset = channel.base() + TAIL_OFFSET;
        this.positionOffset = channel.base() + entryOffset(index) + ENTRY_POSITION_OFFSET;
        this.tokenOffset = channel.base() + entryOffset(index) + ENTRY_TOKEN_OFFSET;
        this.reclaimedOffset = channel.base() + RECLAIMED_OFFSET;
        // An eighth of the ring: frees stay ahead of a publisher that waits on a full ring.
        this.reclaimBatch = Math.max(1, channel.capacity() / 8);
        this.position = position;
        this.knownTail = position;
    }

    /**
     * Hands up to {@code limit} ready messages to {@code handler} in order, without waiting;
     * returns how many (0 if none was ready). The position is released once per call, after the
     * handler has seen the batch; a handler that throws has not released the message it threw on.
     *
     * @throws IllegalStateException if this subscriber was dropped (another process took it for
     *                               dead) or a slot holds no message (a corrupt channel)
     */
    public int poll(FanoutHandler handler, int limit) {
        ensureOpen();
        if (position == knownTail) {
            knownTail = heap.getLongVolatile(tailOffset);
        }
        long end = Math.min(knownTail, position + limit);
        if (end == position) {
            return 0;
        }
        long start = position;
        try {
            for (; position < end; position++) {
                long slot = channel.slot(position);
                long offset = heap.getLong(slot + SLOT_MESSAGE_OFFSET);
                long length = heap.getLong(slot + SLOT_LENGTH_OFFSET);
                if (offset <= 0 || length < 1) {
                    throw new IllegalStateException("fan-out channel '" + channel.name() + "': slot of position=" + position
                            + " holds offset=" + offset + ", length=" + length + " (freed under subscriber " + index + "?)");
                }
                handler.onMessage(position, offset, length);
            }
        } finally {
            if (position != start) {
                release(start);
            }
        }
        return (int) (end - start);
    }

    /**
     * Like {@link #poll(FanoutHandler, int)} but waits up to {@code timeout} for a message (spin,
     * yield, then park); returns 0 at the deadline or at the end of the stream.
     */
    public int poll(FanoutHandler handler, int limit, long timeout, TimeUnit unit) throws InterruptedException {
        Backoff backoff = Backoff.of(unit.toNanos(timeout), SPINS, YIELDS, MAX_PARK_NANOS);
        for (;;) {
            int handed = poll(handler, limit);
            if (handed > 0) {
                return handed;
            }
            if (backoff.expired() || endOfStream()) {
                return 0;
            }
            if (Thread.interrupted()) {
                throw new InterruptedException("polling fan-out channel '" + channel.name() + "'");
            }
            backoff.idle();
        }
    }

    private void release(long previous) {
        if (heap.getLongVolatile(tokenOffset) != token) {
            throw new IllegalStateException("subscriber " + index + " of fan-out channel '" + channel.name()
                    + "' was dropped (taken for dead); the messages it read may have been freed under it");
        }
        heap.putLongRelease(positionOffset, position);
        // Was this subscriber holding the others back? Then it frees what all have passed.
        long reclaimed = heap.getLongVolatile(reclaimedOffset);
        if (reclaimed >= previous && position - reclaimed >= reclaimBatch) {
            channel.reclaim(false);
        }
    }

    /** True once the publisher closed the stream and this subscriber has read all of it. */
    public boolean endOfStream() {
        return channel.isClosed() && position == heap.getLongVolatile(tailOffset);
    }

    /** The next position this subscriber reads. */
    public long position() {
        return position;
    }

    /** Messages published that this subscriber has not read yet. */
    public long lag() {
        return heap.getLongVolatile(tailOffset) - position;
    }

    /** Index of this subscriber in the channel's table. */
    public int index() {
        return index;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("subscriber " + index + " of fan-out channel '" + channel.name() + "' is closed");
        }
    }

    /**
     * Leaves the channel: the entry's position goes to JOINING first (a reclaimer reading the
     * entry between the two stores holds everything back, never frees too much), then the token
     * is cleared, then what this subscriber held back is freed.
     */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            heap.putLongRelease(positionOffset, JOINING);
            heap.compareAndSetLong(tokenOffset, token, 0);
            channel.reclaim(false);
        }
    }

    @Override
    public String toString() {
        return "FanoutSubscriber{" + channel + ", entry " + index + ", position " + position + "}";
    }
}
