package dev.shmheap.ipc;

import dev.shmheap.Backoff;
import dev.shmheap.ShmHeap;

import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static dev.shmheap.ipc.ChannelDescriptor.*;

/**
 * The consumer of a {@link ShmChannel}: holds the channel's consumer word until
 * {@link #close()}. For one thread.
 *
 * <p>The hot path is {@link #read(MessageReader, int)}: it hands each ready message to a reader
 * in place, inline or by offset, stores head once per batch (that releases the batch's slots)
 * and then frees the batch's offset blocks (unless the reader kept them). The
 * {@link MessageReceiver} methods ({@link #poll()}) hand over heap blocks the caller owns: an
 * inline message is copied into a block allocated for it.
 *
 * <p>The timed forms spin, then yield, then sleep in FUTEX_WAIT on the channel's waiting word
 * until a producer commits (see {@link ShmChannel} for the handshake and {@link ConsumerSleep}).
 */
public final class ShmReceiver implements MessageReceiver {
    /** Messages {@link #poll()} and {@link #poll(long, TimeUnit)} take per call. */
    private static final int ONE = 1;
    /** {@link #messageLength} outside {@link MessageReader#onMessage}. */
    private static final long NO_MESSAGE = -1;
    /**
     * While spinning, {@link #skipDeadClaim} reads the clock once per this many empty polls of
     * one position (a clock read per poll would add its cost to every message's latency; 64
     * polls last microseconds against a liveness interval of a millisecond).
     */
    private static final int CLOCK_POLL_MASK = 63;

    private final ShmChannel channel;
    private final ShmHeap heap;
    private final ChannelMemory memory;
    private final long base;
    private final long token;
    private final int capacity;
    private final int inlineCapacity;
    private final int slotLength;
    private final ConsumerSleep sleep;
    private final byte[] copyBuffer;
    private final Taker taker = new Taker();
    private final InPlace inPlace = new InPlace();
    private final HandOver handOver = new HandOver();
    /** Offset blocks of the current batch, freed once head is stored. */
    private long[] toFree = new long[16];
    private int toFreeCount;
    private long head;
    /** The position {@link #receive} looks at next, within a batch (head is stored at its end). */
    private long cursor;
    private long inlineCount;
    private long offsetCount;
    /**
     * Records of several slots below this position were handed to a reader by a consumer that
     * died before it stored head: their words may be restored (damaged), so they are passed, not
     * delivered again (see {@link ChannelDescriptor#DELIVERED_OFFSET}).
     */
    private final long deliveredBefore;
    /** Process-local address of the message being handed to a reader, and its length (-1: none). */
    private long messageAddress;
    private long messageLength = NO_MESSAGE;
    private long stuckPosition = -1;
    /** Empty polls of {@link #stuckPosition}. */
    private int stuckPolls;
    /** Whether {@link #nextLivenessCheck} has been set for {@link #stuckPosition}. */
    private boolean livenessTimerStarted;
    private long nextLivenessCheck;
    private boolean closed;

    ShmReceiver(ShmChannel channel, long token, long head) {
        this.channel = channel;
        this.heap = channel.heap();
        this.memory = channel.memory();
        this.base = channel.base();
        this.token = token;
        this.capacity = channel.capacity();
        this.inlineCapacity = channel.inlineCapacity();
        this.slotLength = channel.slotLength();
        this.sleep = new ConsumerSleep(channel);
        this.copyBuffer = new byte[inlineCapacity];
        this.head = head;
        this.inlineCount = heap.getLongVolatile(channel.base() + INLINE_COUNT_OFFSET);
        this.offsetCount = heap.getLongVolatile(channel.base() + OFFSET_COUNT_OFFSET);
        this.deliveredBefore = heap.getLongVolatile(channel.base() + DELIVERED_OFFSET);
    }

    /**
     * Hands up to {@code limit} ready messages to {@code reader}, in order, in place, without
     * waiting and without allocating; returns how many (0 if none was ready). When the batch
     * ends, head is stored once (releasing every slot of the batch: inline bytes are gone after
     * this call) and then the offset blocks the reader did not keep are freed.
     *
     * <p>Checks only that an offset lies in the heap's data region and a length is plausible,
     * not that the offset is a live block (that lookup reads the page map and slab occupancy
     * word the producer's {@code allocate} has just written: a cache miss per message between
     * processes); the heap's accessors and {@code free} check every later access anyway. A
     * reader that throws has taken its message: the batch ends there and the exception goes on.
     *
     * @throws IllegalStateException if a slot carries a bad header, offset or length (the slot
     *                               is consumed first, so the next read goes on)
     */
    public int read(MessageReader reader, int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit=" + limit + " must be at least 1");
        }
        inPlace.reader = reader;
        return receive(inPlace, limit);
    }

    /**
     * Reads the long (native byte order) at byte {@code index} of the message being handed to a
     * {@link MessageReader} by {@link #read(MessageReader, int)}; valid only inside
     * {@code onMessage}. Faster than the heap's accessors at the message's offset: the index is
     * checked against the message's length only (its region was checked before it was handed over).
     *
     * @throws IndexOutOfBoundsException if the 8 bytes are not all inside the message
     * @throws IllegalStateException     if no message is being read, or the heap has been closed
     */
    public long getLong(long index) {
        return ChannelMemory.getLongAt(messageAddress(index, Long.BYTES));
    }

    /** Reads the int (native byte order) at byte {@code index} of the message being read; checked as {@link #getLong}. */
    public int getInt(long index) {
        return ChannelMemory.getIntAt(messageAddress(index, Integer.BYTES));
    }

    /** Reads the short (native byte order) at byte {@code index} of the message being read; checked as {@link #getLong}. */
    public short getShort(long index) {
        return ChannelMemory.getShortAt(messageAddress(index, Short.BYTES));
    }

    /** Reads the double (native byte order) at byte {@code index} of the message being read; checked as {@link #getLong}. */
    public double getDouble(long index) {
        return ChannelMemory.getDoubleAt(messageAddress(index, Double.BYTES));
    }

    /** Reads the byte at {@code index} of the message being read; checked as {@link #getLong}. */
    public byte getByte(long index) {
        return ChannelMemory.getByteAt(messageAddress(index, Byte.BYTES));
    }

    /**
     * Copies {@code count} bytes from byte {@code index} of the message being read (see
     * {@link #getLong(long)}) into {@code dst} from {@code dstIndex}.
     *
     * @throws IndexOutOfBoundsException if the bytes are not all inside the message, or not all in {@code dst}
     * @throws IllegalStateException     if no message is being read, or the heap has been closed
     */
    public void getBytes(long index, byte[] dst, int dstIndex, int count) {
        java.util.Objects.checkFromIndexSize(dstIndex, count, dst.length);
        ChannelMemory.getBytesAt(messageAddress(index, count), dst, dstIndex, count);
    }

    /** Process-local address of byte {@code index} of the message being read, checked for {@code size} bytes. */
    long messageAddress(long index, long size) {
        if (messageLength == NO_MESSAGE) {
            throw new IllegalStateException("no message is being read: the receiver's accessors work only inside MessageReader.onMessage");
        }
        if (index < 0 || index > messageLength - size) {
            throw new IndexOutOfBoundsException("index=" + index + " and size=" + size + " reach outside the message's length="
                    + messageLength);
        }
        memory.ensureMapped();
        return messageAddress + index;
    }

    /**
     * Like {@link #read(MessageReader, int)}, waiting up to {@code timeout} for a first message.
     *
     * @return messages handed to the reader, 0 if none came in time
     * @throws InterruptedException if the thread is interrupted while waiting
     */
    public int read(MessageReader reader, int limit, long timeout, TimeUnit unit) throws InterruptedException {
        if (limit < 1) {
            throw new IllegalArgumentException("limit=" + limit + " must be at least 1");
        }
        inPlace.reader = reader;
        return receiveWaiting(inPlace, limit, unit.toNanos(timeout));
    }

    /**
     * {@inheritDoc}
     *
     * <p>An inline message is copied into a heap block allocated for it (the caller frees it);
     * if the heap has no room for it right now, the message stays queued and this returns empty.
     *
     * @throws IllegalStateException if the slot at head names something that is not a live
     *                               block of at least its length (a buggy producer or a corrupt
     *                               file); the slot is consumed first, so the next poll goes on
     */
    @Override
    public Optional<Message> poll() {
        taker.taken = null;
        take(taker, true, ONE);
        return Optional.ofNullable(taker.taken);
    }

    /**
     * Hands up to {@code limit} ready messages to {@code handler}, in order, without waiting;
     * each handed block belongs to the handler (inline messages are copied into a block
     * allocated for them; the batch stops early if the heap has no room). Like
     * {@link #read(MessageReader, int)} it checks an offset only against the data region.
     * Prefer {@link #read(MessageReader, int)}: it reads inline messages in place.
     *
     * @throws IllegalStateException if a slot carries an offset outside the data region or a
     *                               bad length (the slot is consumed first)
     */
    public int poll(MessageHandler handler, int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit=" + limit + " must be at least 1");
        }
        return take(handler, false, limit);
    }

    /** The ownership-transferring batch behind {@link #poll()} and {@link #poll(MessageHandler, int)}. */
    private int take(MessageHandler handler, boolean checkLive, int limit) {
        handOver.handler = handler;
        handOver.checkLive = checkLive;
        return receive(handOver, limit);
    }

    /**
     * The one receive loop of {@link #read} and {@link #take}: from head, while the slot's
     * sequence says committed and fewer than {@code limit} messages were handed, consumes the
     * position (a message whose check throws is consumed first, so the next call goes on),
     * passes padding, and hands inline and offset messages to {@code delivery}; one that
     * {@code delivery} cannot take now stays at head and ends the batch. At a claimed position
     * it asks whether the claimant died ({@link #skipDeadClaim}). The batch ends with one store
     * of head ({@link #endBatch}), also when the delivery throws.
     */
    private int receive(Delivery delivery, int limit) {
        ensureOpen();
        memory.ensureMapped();
        cursor = head;
        int handed = 0;
        try {
            while (handed < limit) {
                long slot = slotOffset(cursor, capacity, slotLength);
                long sequence = memory.getLongVolatile(slot + SLOT_SEQUENCE_OFFSET);
                if (sequence != cursor + capacity) {
                    if (skipDeadClaim(cursor, slot, sequence)) {
                        continue;
                    }
                    break;
                }
                long header = memory.getLong(slot + SLOT_HEADER_OFFSET);
                int kind = kind(header);
                long length = length(header);
                long position = cursor;
                long slots = recordSlots(kind, length, slotLength);
                if (kind < INLINE || kind > PADDING || slots < 1 || (position & (capacity - 1)) + slots > capacity) {
                    cursor++;
                    throw badHeader(position, header);
                }
                cursor += slots;
                if (kind == INLINE && slots > 1 && position < deliveredBefore) {
                    restore(position, slot, slots); // handed over by the consumer before, which died: not again
                    continue;
                }
                boolean taken = true;
                try {
                    if (kind == INLINE) {
                        checkInline(position, kind, length);
                        taken = delivery.inline(slot, length);
                    } else if (kind == OFFSET) {
                        taken = delivery.byOffset(position, memory.getLong(slot + SLOT_MESSAGE_OFFSET), length);
                    }
                } finally {
                    if (taken && slots > 1) {
                        if (kind == INLINE) {
                            memory.putLongRelease(DELIVERED_OFFSET, cursor); // before the words are restored
                            ChannelMemory.storeFence();
                        }
                        restore(position, slot, slots);
                    }
                }
                if (!taken) {
                    cursor = position;
                    break;
                }
                if (kind != PADDING) {
                    handed++;
                }
            }
        } finally {
            messageLength = NO_MESSAGE;
            endBatch(cursor);
        }
        return handed;
    }

    /**
     * After a record of {@code slots} slots at {@code position} is consumed: stores into each of
     * its slots after the first the sequence word that slot holds once consumed, its position +
     * capacity (the record's payload or an older lap's left other bytes there). The next lap's
     * commit of that slot is its position + 2 x capacity, so the consumer never takes leftover
     * bytes for a commit. Before head is stored: no producer writes these slots yet.
     */
    private void restore(long position, long slot, long slots) {
        for (long k = 1; k < slots; k++) {
            memory.putLong(slot + k * slotLength + SLOT_SEQUENCE_OFFSET, position + k + capacity);
        }
    }

    /** What {@link #receive} does with one committed message; false: it cannot take it now (it stays at head). */
    private abstract static class Delivery {
        abstract boolean inline(long slot, long length);

        abstract boolean byOffset(long position, long offset, long length);
    }

    /** {@link #read}: in place; the receiver frees an offset block after the batch unless the reader keeps it. */
    private final class InPlace extends Delivery {
        MessageReader reader;

        @Override
        boolean inline(long slot, long length) {
            inlineCount++;
            messageAddress = memory.address(slot + SLOT_PAYLOAD_OFFSET);
            messageLength = length;
            reader.onMessage(base + slot + SLOT_PAYLOAD_OFFSET, length, true);
            return true;
        }

        @Override
        boolean byOffset(long position, long raw, long length) {
            long offset = checkedCheaply(position, raw, length);
            offsetCount++;
            messageAddress = heap.address(offset);
            messageLength = length;
            if (!reader.onMessage(offset, length, false)) {
                freeLater(offset);
            }
            return true;
        }
    }

    /** {@link #take}: the handler owns each block; an inline message is copied into a block allocated for it. */
    private final class HandOver extends Delivery {
        MessageHandler handler;
        boolean checkLive;

        @Override
        boolean inline(long slot, long length) {
            long block = heap.tryAllocate(length, ShmHeap.DEFAULT_ALIGNMENT);
            if (block == ShmHeap.NO_SPACE) {
                return false;
            }
            memory.getBytes(slot + SLOT_PAYLOAD_OFFSET, copyBuffer, 0, (int) length);
            heap.putBytes(block, copyBuffer, 0, (int) length);
            inlineCount++;
            handler.onMessage(block, length);
            return true;
        }

        @Override
        boolean byOffset(long position, long raw, long length) {
            long offset = checkLive ? checkedLive(position, raw, length) : checkedCheaply(position, raw, length);
            offsetCount++;
            // Release the slot before taking the block over: a receiver killed after the
            // take-over must not leave a slot that delivers the block again once it is
            // reclaimed. Killed in between, the block stays handed off (kept, a leak).
            endBatch(cursor);
            heap.takeOver(offset); // the handler holds it now: reclaimed if this process dies before freeing it
            handler.onMessage(offset, length);
            return true;
        }
    }

    @Override
    public Optional<Message> poll(long timeout, TimeUnit unit) throws InterruptedException {
        taker.taken = null;
        handOver.handler = taker;
        handOver.checkLive = true;
        receiveWaiting(handOver, ONE, unit.toNanos(timeout));
        return Optional.ofNullable(taker.taken);
    }

    /** {@link #receive}, waiting up to {@code timeoutNanos} for a first message (spin, yield, futex sleep: {@link ConsumerSleep}). */
    private int receiveWaiting(Delivery delivery, int limit, long timeoutNanos) throws InterruptedException {
        int handed = receive(delivery, limit);
        if (handed > 0) {
            return handed;
        }
        Backoff backoff = sleep.start(timeoutNanos);
        try {
            while ((handed = receive(delivery, limit)) == 0 && !backoff.expired()) {
                sleep.idle(backoff, head);
            }
            return handed;
        } finally {
            sleep.wakeUp();
        }
    }

    /**
     * Ends a batch at position {@code h}: stores head once (one ordered store on the consumer's
     * own line releases every slot of the batch) and the delivery counters, and only then frees
     * the batch's offset blocks, so that a consumer killed in between leaks them rather than
     * having a later receiver deliver (and free) them again.
     */
    private void endBatch(long h) {
        if (h != head) {
            head = h;
            sleep.awake();
            memory.putLongRelease(HEAD_OFFSET, h);
            memory.putLongRelease(INLINE_COUNT_OFFSET, inlineCount);
            memory.putLongRelease(OFFSET_COUNT_OFFSET, offsetCount);
        }
        int n = toFreeCount;
        toFreeCount = 0;
        for (int i = 0; i < n; i++) {
            heap.free(toFree[i]);
        }
    }

    private void freeLater(long offset) {
        if (toFreeCount == toFree.length) {
            toFree = Arrays.copyOf(toFree, toFree.length * 2);
        }
        toFree[toFreeCount++] = offset;
    }

    /**
     * If position {@code h} is claimed (below tail) but not committed, has been so for at least
     * {@link ShmChannel#LIVENESS_CHECK_NANOS}, and the intent that covers {@code h} names a dead
     * process ({@link ShmChannel#deadClaimEnd}), its claimant is dead: store a padding header
     * over the dead claim's extent from {@code h} (up to the end of the ring at most) and CAS the
     * sequence from {@code h} to committed, and return true (the caller reads the padding and
     * passes it, restoring the slots after its first). False if
     * the slot is simply not ready. Checks at most once per interval; while spinning it reads
     * the clock only once per {@code CLOCK_POLL_MASK + 1} polls, while sleeping at every poll.
     * {@code slot} is relative to the channel's block.
     */
    private boolean skipDeadClaim(long h, long slot, long sequence) {
        if (sequence != h) {
            return false;
        }
        if (stuckPosition != h) {
            stuckPosition = h;
            stuckPolls = 0;
            livenessTimerStarted = false;
            return false;
        }
        if (!sleep.sleeping() && (++stuckPolls & CLOCK_POLL_MASK) != 0) {
            return false;
        }
        long now = System.nanoTime();
        if (!livenessTimerStarted) {
            livenessTimerStarted = true;
            nextLivenessCheck = now + ShmChannel.LIVENESS_CHECK_NANOS;
            return false;
        }
        if (now - nextLivenessCheck < 0) {
            return false;
        }
        nextLivenessCheck = now + ShmChannel.LIVENESS_CHECK_NANOS;
        // Tail first: once tail is past h, the claimant's intent store (made before its tail CAS)
        // is visible, so the intent scan below cannot miss a live claimant.
        if (heap.getLongVolatile(channel.base() + TAIL_OFFSET) <= h) {
            return false;
        }
        long end = channel.deadClaimEnd(h);
        if (end == ShmChannel.LIVE_OR_UNKNOWN_CLAIM) {
            return false;
        }
        // The claimant is dead and writes no more; but it may have committed just before it died
        // (after the sequence read above): look again before overwriting the header.
        if (memory.getLongVolatile(slot + SLOT_SEQUENCE_OFFSET) != h) {
            return true;
        }
        // The dead claim's extent from h, as padding; a claim that began with (uncommitted)
        // padding at the end of the ring is passed in two steps: up to the end, then the rest.
        long index = h & (capacity - 1);
        memory.putLong(slot + SLOT_HEADER_OFFSET, header(PADDING, Math.min(end - h, capacity - index)));
        if (memory.compareAndSetLong(slot + SLOT_SEQUENCE_OFFSET, h, h + capacity)) {
            long skipped = channel.base() + SKIPPED_OFFSET;
            heap.putLongRelease(skipped, heap.getLong(skipped) + 1);
        }
        return true;
    }

    private void checkInline(long position, int kind, long length) {
        if (length < 1 || length > inlineCapacity) {
            throw new IllegalStateException("channel '" + channel.name() + "' position " + position + " carried an inline length="
                    + length + ", expected 1.." + inlineCapacity + " (kind=" + kind + ")");
        }
    }

    private IllegalStateException badHeader(long position, long header) {
        return new IllegalStateException("channel '" + channel.name() + "' position " + position + " carried header=0x"
                + Long.toHexString(header) + ": kind=" + kind(header) + ", expected " + INLINE + " (inline), " + OFFSET
                + " (offset) or " + PADDING + " (padding)");
    }

    private long checkedCheaply(long position, long offset, long length) {
        if (length < 1) {
            throw new IllegalStateException("channel '" + channel.name() + "' position " + position + " carried length=" + length);
        }
        try {
            heap.address(offset);
            heap.address(offset + length - 1); // the whole message lies in the data region
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            throw new IllegalStateException("channel '" + channel.name() + "' position " + position + " carried offset=" + offset
                    + " outside the heap's data region: " + e.getMessage(), e);
        }
        return offset;
    }

    private long checkedLive(long position, long offset, long length) {
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
        return offset;
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

    /** The channel this receiver reads. */
    public ShmChannel channel() {
        return channel;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            sleep.clear();
            heap.compareAndSetLong(channel.base() + CONSUMER_OFFSET, token, 0);
        }
    }

    @Override
    public String toString() {
        return "ShmReceiver{" + channel + ", head=" + head + "}";
    }

    /** Collects the one message of {@link #poll()}. */
    private static final class Taker implements MessageHandler {
        Message taken;

        @Override
        public void onMessage(long offset, long length) {
            taken = new Message(offset, length);
        }
    }
}
