package dev.shmheap.ipc.fanout;

import dev.shmheap.Backoff;
import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.MessageSender;

import java.util.concurrent.TimeUnit;

import static dev.shmheap.ipc.fanout.FanoutDescriptor.*;

/**
 * The publisher of a {@link FanoutChannel}: holds the channel's publisher word until
 * {@link #close()}. A successful offer hands the block to the channel, which frees it once every
 * subscriber has passed it; a failed one (the slowest live subscriber is {@code capacity}
 * messages behind) leaves it with the caller. For one thread.
 */
public final class FanoutPublisher implements MessageSender {
    private final FanoutChannel channel;
    private final ShmHeap heap;
    private final long token;
    private final int capacity;
    private final long tailOffset;
    private final long reclaimedOffset;
    /** Only this publisher writes tail, so the local copy is exact. */
    private long tail;
    /** A lower bound of the shared reclaimed position, refreshed when the ring looks full. */
    private long reclaimed;
    private long lastLivenessCheck;
    private long backpressured;
    private boolean closed;

    FanoutPublisher(FanoutChannel channel, long token) {
        this.channel = channel;
        this.heap = channel.heap();
        this.token = token;
        this.capacity = channel.capacity();
        this.tailOffset = channel.base() + TAIL_OFFSET;
        this.reclaimedOffset = channel.base() + RECLAIMED_OFFSET;
        this.tail = heap.getLongVolatile(tailOffset);
        this.reclaimed = heap.getLongVolatile(reclaimedOffset);
        this.lastLivenessCheck = System.nanoTime() - LIVENESS_CHECK_NANOS;
    }

    @Override
    public boolean offer(long offset, long length) {
        ensureOpen();
        long usable = heap.usableSize(offset);
        if (length < 1 || length > usable) {
            throw new IllegalArgumentException("length=" + length + " must be in [1, " + usable + "] for the block at offset=" + offset);
        }
        return offerTrusted(offset, length);
    }

    /**
     * Like {@link #offer(long, long)} without asking the heap whether {@code offset} is a live
     * block of at least {@code length} bytes (for blocks straight from {@code allocate}).
     */
    public boolean offerTrusted(long offset, long length) {
        ensureOpen();
        if (length < 1 || offset <= 0) {
            throw new IllegalArgumentException("offset=" + offset + " and length=" + length + " must be positive");
        }
        if (tail - reclaimed >= capacity && !makeRoom()) {
            backpressured++;
            return false;
        }
        heap.handOff(offset); // the channel frees it once every subscriber passed it; no process's death may reclaim it first
        long slot = channel.slot(tail);
        heap.putLong(slot + SLOT_MESSAGE_OFFSET, offset);
        heap.putLong(slot + SLOT_LENGTH_OFFSET, length);
        heap.putLongRelease(tailOffset, ++tail);
        return true;
    }

    /**
     * The ring looks full: re-read reclaimed, reclaim what every subscriber has passed, and, at
     * most every {@link FanoutDescriptor#LIVENESS_CHECK_NANOS}, drop subscribers that died.
     */
    private boolean makeRoom() {
        reclaimed = heap.getLongVolatile(reclaimedOffset);
        if (tail - reclaimed < capacity) {
            return true;
        }
        long now = System.nanoTime();
        boolean checkLiveness = now - lastLivenessCheck >= LIVENESS_CHECK_NANOS;
        if (checkLiveness) {
            lastLivenessCheck = now;
        }
        channel.reclaim(checkLiveness);
        reclaimed = heap.getLongVolatile(reclaimedOffset);
        return tail - reclaimed < capacity;
    }

    @Override
    public boolean offer(long offset, long length, long timeout, TimeUnit unit) throws InterruptedException {
        Backoff backoff = Backoff.of(unit.toNanos(timeout), FanoutSubscriber.SPINS, FanoutSubscriber.YIELDS, FanoutSubscriber.MAX_PARK_NANOS);
        while (!offer(offset, length)) {
            if (backoff.expired()) {
                return false;
            }
            if (Thread.interrupted()) {
                throw new InterruptedException("offer to fan-out channel '" + channel.name() + "'");
            }
            backoff.idle();
        }
        return true;
    }

    /** Messages published through this publisher's channel so far (its tail). */
    public long position() {
        return tail;
    }

    /** Offers refused because the slowest live subscriber was {@code capacity} behind. */
    public long backpressured() {
        return backpressured;
    }

    /**
     * Frees what every subscriber has passed and, while live subscribers are behind, waits up to
     * {@code timeout} for them (dropping dead ones). Returns true once all is freed.
     */
    public boolean drain(long timeout, TimeUnit unit) throws InterruptedException {
        Backoff backoff = Backoff.of(unit.toNanos(timeout), FanoutSubscriber.SPINS, FanoutSubscriber.YIELDS, FanoutSubscriber.MAX_PARK_NANOS);
        for (;;) {
            channel.reclaim(true);
            if (heap.getLongVolatile(reclaimedOffset) == tail) {
                return true;
            }
            if (backoff.expired()) {
                return false;
            }
            if (Thread.interrupted()) {
                throw new InterruptedException("draining fan-out channel '" + channel.name() + "'");
            }
            backoff.idle();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("publisher of fan-out channel '" + channel.name() + "' is closed");
        }
    }

    /**
     * Ends the stream (subscribers see {@link FanoutSubscriber#endOfStream()} once they have read
     * everything) and detaches. Messages already offered are still delivered.
     */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            heap.putLongRelease(channel.base() + CLOSED_OFFSET, 1);
            heap.compareAndSetLong(channel.base() + PUBLISHER_OFFSET, token, 0);
            channel.reclaim(false);
        }
    }

    @Override
    public String toString() {
        return "FanoutPublisher{" + channel + ", tail " + tail + "}";
    }
}
