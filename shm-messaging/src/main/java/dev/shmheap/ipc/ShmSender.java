package dev.shmheap.ipc;

import dev.shmheap.Backoff;
import dev.shmheap.ShmHeap;

import java.util.concurrent.TimeUnit;

import static dev.shmheap.ipc.ChannelDescriptor.*;

/**
 * A producer attached to a {@link ShmChannel}: owns one entry of the channel's producer table
 * until {@link #close()}. For one thread; attach one sender per producing thread.
 *
 * <p>Two ways to send: {@link #tryClaim(long, ShmClaim)} then {@link ShmClaim#commit()}
 * (messages up to {@link ShmChannel#inlineCapacity()} bytes are written straight into the ring,
 * longer ones into a heap block the claim allocates), or {@link #offer(long, long)} of a block
 * the caller already filled (always by offset).
 */
public final class ShmSender implements MessageSender {
    private static final long FULL = -1;
    private static final long MAX_PARK_NANOS = 1_000_000;

    private final ShmChannel channel;
    private final ShmHeap heap;
    private final ChannelMemory memory;
    private final int index;
    private final long token;
    private final int capacity;
    private final int inlineCapacity;
    private final int slotLength;
    private final long entryOffset;
    /** This producer's intent words (start and end of its claim), relative to the channel's block. */
    private final long intentOffset;
    private final long intentEndOffset;
    /** Last head read from the channel; head only grows, so it is a lower bound of the real one. */
    private long cachedHead;
    /** An exclusive producer's copy of tail: nobody else writes tail, so it never re-reads it. */
    private long exclusiveTail;
    /** The only producer of the channel: tail is advanced with an ordered store, not a CAS. */
    private final boolean exclusive;
    /** The claim between tryClaim and its commit or abort; closing the sender aborts it. */
    private ShmClaim active;
    private boolean closed;

    ShmSender(ShmChannel channel, int index, long token, boolean exclusive) {
        this.exclusive = exclusive;
        this.channel = channel;
        this.heap = channel.heap();
        this.memory = channel.memory();
        this.index = index;
        this.token = token;
        this.capacity = channel.capacity();
        this.inlineCapacity = channel.inlineCapacity();
        this.slotLength = channel.slotLength();
        this.entryOffset = channel.base() + producerEntryOffset(index);
        this.intentOffset = intentOffset(index);
        this.intentEndOffset = intentEndOffset(index);
        this.cachedHead = memory.getLongVolatile(HEAD_OFFSET);
        this.exclusiveTail = memory.getLongVolatile(TAIL_OFFSET);
    }

    /**
     * Reserves room for a message of {@code length} bytes and fills {@code claim} with it. A
     * message of at most {@link ShmChannel#inlineCapacity()} bytes gets its slot in the ring;
     * a longer one gets a heap block allocated for it (only its offset travels). Write the
     * message at {@code claim.offset()}, then {@link ShmClaim#commit()} or {@link ShmClaim#abort()}.
     *
     * @return false if the ring is full, or the heap has no block for a long message right now
     *         (backpressure: retry later); {@code claim} is then left inactive
     * @throws IllegalArgumentException if {@code length < 1}
     * @throws IllegalStateException    if {@code claim} or another claim of this sender is still active, or this
     *                                  sender is closed
     */
    public boolean tryClaim(long length, ShmClaim claim) {
        ensureOpen();
        if (length < 1 || length > LENGTH_MASK) {
            throw new IllegalArgumentException("length=" + length + " must be in [1, " + LENGTH_MASK + "]");
        }
        if (claim.isActive() || (active != null && active.isActive())) {
            throw new IllegalStateException("a claim of this sender is still active: commit or abort it first: "
                    + (claim.isActive() ? claim : active));
        }
        if (length <= inlineCapacity) {
            long position = claim(recordSlots(INLINE, length, slotLength), true);
            if (position == FULL) {
                return false;
            }
            long payload = slotOffset(position, capacity, slotLength) + SLOT_PAYLOAD_OFFSET;
            claim.set(this, position, channel.base() + payload, length, true, memory.address(payload));
            active = claim;
            return true;
        }
        // Check for ring space first, so that a full ring does not cost an allocate and a free.
        if (!hasSpace()) {
            return false;
        }
        long block = heap.tryAllocate(length, ShmHeap.DEFAULT_ALIGNMENT);
        if (block == ShmHeap.NO_SPACE) {
            return false;
        }
        long position = claim(1, true);
        if (position == FULL) {
            heap.free(block);
            return false;
        }
        claim.set(this, position, block, length, false, heap.address(block));
        active = claim;
        return true;
    }

    @Override
    public boolean offer(long offset, long length) {
        checkMessage(offset, length);
        return offerUnchecked(offset, length);
    }

    /**
     * Like {@link #offer(long, long)} but without asking the heap whether {@code offset} is a
     * live block of at least {@code length} bytes, for hot paths whose blocks come straight
     * from {@code allocate} (or from a receiver). That lookup reads the page map and the slab
     * occupancy word, which the other process's {@code free} keeps writing: a cache miss per
     * message. Checks only that {@code length} is positive; a bad offset is refused by the
     * hand-off that every by-offset message makes before it is published (the slot then
     * travels as padding), and by the receiver's checks.
     */
    public boolean offerTrusted(long offset, long length) {
        ensureOpen();
        if (length < 1 || length > LENGTH_MASK) {
            throw new IllegalArgumentException("length=" + length + " must be in [1, " + LENGTH_MASK + "]");
        }
        return offerUnchecked(offset, length);
    }

    private boolean offerUnchecked(long offset, long length) {
        long position = claim(1, true);
        if (position == FULL) {
            return false;
        }
        commit(position, offset, length, OFFSET);
        return true;
    }

    @Override
    public boolean offer(long offset, long length, long timeout, TimeUnit unit) throws InterruptedException {
        checkMessage(offset, length);
        Backoff backoff = Backoff.until(unit.toNanos(timeout), MAX_PARK_NANOS);
        while (!offerUnchecked(offset, length)) {
            if (backoff.parking() && Thread.interrupted()) {
                throw new InterruptedException("offer to channel '" + channel.name() + "'");
            }
            if (!backoff.idle()) {
                return false;
            }
        }
        return true;
    }

    /** True if the position at tail is within one lap of head (re-reads head only when the cached one says no). */
    private boolean hasSpace() {
        long position = exclusive ? exclusiveTail : memory.getLongVolatile(TAIL_OFFSET);
        if (position - cachedHead < capacity) {
            return true;
        }
        cachedHead = memory.getLongVolatile(HEAD_OFFSET);
        return position - cachedHead < capacity;
    }

    /**
     * Claims {@code slots} positions at tail for one record, preceded by padding up to the end
     * of the ring if the record would not fit before it (a record never wraps): stores the
     * claim's extent in this producer's intent words (start set to {@link ChannelDescriptor#NO_INTENT}
     * first, then end, then start: a reader that sees the same start twice saw its end), then
     * moves tail past it with one CAS (a full fence, so the intent is visible to anyone who sees
     * the new tail), then commits the padding (unless {@code publishPadding} is false: a test
     * hook's dead producer). Returns the record's first position, or
     * {@link #FULL} when the claim would be more than a lap ahead of head. The slots need no
     * check: head passed their previous lap, which it does only after that lap was consumed,
     * and the consumer restores the sequence words a record's payload overwrote.
     */
    long claim(long slots, boolean publishPadding) {
        ensureOpen();
        memory.ensureMapped();
        for (;;) {
            long position = exclusive ? exclusiveTail : memory.getLongVolatile(TAIL_OFFSET);
            long index = position & (capacity - 1);
            long padding = index + slots > capacity ? capacity - index : 0;
            long end = position + padding + slots;
            if (end - cachedHead > capacity) {
                cachedHead = memory.getLongVolatile(HEAD_OFFSET);
                if (end - cachedHead > capacity) {
                    return FULL;
                }
            }
            if (end >= POSITION_MASK - capacity) {
                throw new IllegalStateException("channel '" + channel.name() + "' has used up its 2^56 positions");
            }
            memory.putLongRelease(intentOffset, NO_INTENT);
            memory.putLongRelease(intentEndOffset, end);
            memory.putLongRelease(intentOffset, position);
            boolean claimed;
            if (exclusive) {
                // Ordered after the intent stores, as the CAS would be; nobody else writes tail.
                exclusiveTail = end;
                memory.putLongRelease(TAIL_OFFSET, end);
                claimed = true;
            } else {
                claimed = memory.compareAndSetLong(TAIL_OFFSET, position, end);
            }
            if (claimed) {
                if (padding > 0 && publishPadding) {
                    publish(position, PADDING, padding);
                }
                return position + padding;
            }
            // Another producer took the position: this intent names a claim that is not ours.
            // Withdraw it at once, or a consumer waiting at that position (its real claimant
            // dead) would take this live process for the claimant and wait for good.
            memory.putLongRelease(intentOffset, NO_INTENT);
        }
    }

    /** Commits a record of {@code kind} at {@code position} whose header has nothing else to say (padding). */
    private void publish(long position, int kind, long length) {
        long slot = slotOffset(position, capacity, slotLength);
        memory.putLong(slot + SLOT_HEADER_OFFSET, header(kind, length));
        memory.putLongRelease(slot + SLOT_SEQUENCE_OFFSET, position + capacity);
    }

    /**
     * Writes the header (and the block offset of an offset message), then commits with one
     * ordered store of the sequence, then reads the consumer's waiting word. No fence between
     * the two: the read may pass the store, and the consumer's first sleep after it announced
     * itself is short for that reason (see {@link ShmChannel}, "Sleep").
     */
    void commit(long position, long offset, long length, int kind) {
        active = null;
        if (kind == OFFSET) {
            handOff(position, offset);
        }
        memory.ensureMapped();
        if (kind == PADDING) {
            publish(position, PADDING, length);
            channel.wakeConsumer();
            return;
        }
        long slot = slotOffset(position, capacity, slotLength);
        memory.putLong(slot + SLOT_HEADER_OFFSET, header(kind, length));
        if (kind == OFFSET) {
            memory.putLong(slot + SLOT_MESSAGE_OFFSET, offset);
        }
        memory.putLongRelease(slot + SLOT_SEQUENCE_OFFSET, position + capacity);
        channel.wakeConsumer();
    }

    /**
     * The block travels by offset: from now on no process holds it until the receiver takes it
     * over (or frees it after reading it in place), so that this process dying cannot get it
     * reclaimed under the receiver (see {@code ShmHeap.handOff}). Done before the slot is
     * published: once the consumer sees it, the block may be freed already. An offset that is
     * not a live block is refused here; its slot is published as padding so the ring goes on.
     */
    private void handOff(long position, long offset) {
        try {
            heap.handOff(offset);
        } catch (RuntimeException e) {
            commit(position, 0, 1, PADDING);
            throw e;
        }
    }

    /** Gives the claim up: its extent becomes padding (its slots: {@code length} bytes inline, one by offset); a block is freed. */
    void abort(long position, long offset, long length, boolean inline) {
        if (!inline) {
            heap.free(offset);
        }
        commit(position, 0, inline ? recordSlots(INLINE, length, slotLength) : 1, PADDING);
    }

    /**
     * Test hook: claims a slot and never commits it, as a producer killed between claim and
     * commit would. Returns the position, or -1 if the ring is full.
     */
    long claimWithoutPublishing() {
        return claimWithoutPublishing(1);
    }

    /**
     * Test hook: claims {@code slots} slots (and the padding before them, if the record would
     * cross the end of the ring) and commits nothing, not even the padding: a producer killed
     * right after its tail CAS. Returns the record's position, or -1 if the ring is full.
     */
    long claimWithoutPublishing(long slots) {
        return claim(slots, false);
    }

    /** Throws {@link IllegalStateException} if the heap has been closed. */
    void ensureMapped() {
        memory.ensureMapped();
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

    /** True if this is the channel's only producer ({@link ShmChannel#newExclusiveSender()}). */
    public boolean isExclusive() {
        return exclusive;
    }

    /** Index of this producer in the channel's producer table. */
    public int producerIndex() {
        return index;
    }

    /** The channel this sender sends on. */
    public ShmChannel channel() {
        return channel;
    }

    /**
     * Detaches; a claim still active is aborted first (an uncommitted claim of a live process
     * would hold the consumer at its position).
     */
    @Override
    public void close() {
        if (!closed) {
            if (active != null && active.isActive()) {
                active.abort();
            }
            closed = true;
            heap.compareAndSetLong(entryOffset, token, 0);
            if (exclusive) {
                heap.compareAndSetLong(channel.base() + EXCLUSIVE_OFFSET, token, 0);
            }
        }
    }

    @Override
    public String toString() {
        return "ShmSender{" + channel + ", producer " + index + "}";
    }
}
