package dev.shmheap.ipc;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.shmheap.Backoff;
import dev.shmheap.ShmHeap;

import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

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
 * until a producer commits (see {@link ShmChannel} for the handshake). Sleeps are capped at
 * {@link #MAX_SLEEP_NANOS}, and at {@link ShmChannel#LIVENESS_CHECK_NANOS} while the slot at
 * head is claimed, so that a producer that died holding it is noticed.
 */
public final class ShmReceiver implements MessageReceiver {
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
    private final long waitingOffset;
    private final Memory timespec = new Memory(16);
    private final byte[] copyBuffer;
    private final Taker taker = new Taker();
    /** Offset blocks of the current batch, freed once head is stored. */
    private long[] toFree = new long[16];
    private int toFreeCount;
    private long head;
    private long inlineCount;
    private long offsetCount;
    /** Whether this receiver has set the waiting word and not cleared it since. */
    private boolean announced;
    /** Futex sleeps since the waiting word was last set. */
    private int sleepsSinceAnnounce;
    /** Process-local address of the message being handed to a reader, and its length (-1: none). */
    private long messageAddress;
    private long messageLength = NO_MESSAGE;
    private long stuckPosition = -1;
    /** Empty polls of {@link #stuckPosition}. */
    private int stuckPolls;
    /** True while the timed forms sleep between polls: then every poll reads the clock. */
    private boolean sleeping;
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
        this.waitingOffset = channel.base() + WAITING_OFFSET;
        this.copyBuffer = new byte[inlineCapacity];
        this.head = head;
        this.inlineCount = heap.getLongVolatile(channel.base() + INLINE_COUNT_OFFSET);
        this.offsetCount = heap.getLongVolatile(channel.base() + OFFSET_COUNT_OFFSET);
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
        ensureOpen();
        if (limit < 1) {
            throw new IllegalArgumentException("limit=" + limit + " must be at least 1");
        }
        memory.ensureMapped();
        long h = head;
        int handed = 0;
        try {
            while (handed < limit) {
                long slot = slotOffset(h, capacity, slotLength);
                long sequence = memory.getLongVolatile(slot + SLOT_SEQUENCE_OFFSET);
                if (sequence == h + capacity) {
                    long header = memory.getLong(slot + SLOT_HEADER_OFFSET);
                    int kind = kind(header);
                    long length = length(header);
                    long position = h++;
                    if (kind == INLINE) {
                        checkInline(position, kind, length);
                        handed++;
                        inlineCount++;
                        messageAddress = memory.address(slot + SLOT_PAYLOAD_OFFSET);
                        messageLength = length;
                        reader.onMessage(base + slot + SLOT_PAYLOAD_OFFSET, length, true);
                    } else if (kind == OFFSET) {
                        long offset = checkedCheaply(position, memory.getLong(slot + SLOT_MESSAGE_OFFSET), length);
                        handed++;
                        offsetCount++;
                        messageAddress = heap.address(offset);
                        messageLength = length;
                        if (!reader.onMessage(offset, length, false)) {
                            freeLater(offset);
                        }
                    } else if (kind != PADDING) {
                        throw badHeader(position, header);
                    }
                } else if (!skipDeadClaim(h, slot, sequence)) {
                    break;
                }
            }
        } finally {
            messageLength = NO_MESSAGE;
            endBatch(h);
        }
        return handed;
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
        Backoff backoff = Backoff.of(unit.toNanos(timeout), SPINS, YIELDS, MAX_SLEEP_NANOS);
        try {
            while (true) {
                int handed = read(reader, limit);
                if (handed > 0 || backoff.expired()) {
                    return handed;
                }
                idle(backoff);
            }
        } finally {
            wakeUp();
        }
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
        taker.checkLive = true;
        taker.taken = null;
        take(taker, ONE);
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
        return take(handler, limit);
    }

    /** The ownership-transferring batch behind {@link #poll()} and {@link #poll(MessageHandler, int)}. */
    private int take(MessageHandler handler, int limit) {
        ensureOpen();
        boolean checkLive = handler == taker && taker.checkLive;
        memory.ensureMapped();
        long h = head;
        int handed = 0;
        try {
            while (handed < limit) {
                long slot = slotOffset(h, capacity, slotLength);
                long sequence = memory.getLongVolatile(slot + SLOT_SEQUENCE_OFFSET);
                if (sequence == h + capacity) {
                    long header = memory.getLong(slot + SLOT_HEADER_OFFSET);
                    int kind = kind(header);
                    long length = length(header);
                    if (kind == INLINE) {
                        checkInline(h, kind, length);
                        long block = heap.tryAllocate(length, ShmHeap.DEFAULT_ALIGNMENT);
                        if (block == ShmHeap.NO_SPACE) {
                            break;
                        }
                        memory.getBytes(slot + SLOT_PAYLOAD_OFFSET, copyBuffer, 0, (int) length);
                        heap.putBytes(block, copyBuffer, 0, (int) length);
                        h++;
                        handed++;
                        inlineCount++;
                        handler.onMessage(block, length);
                    } else if (kind == OFFSET) {
                        long position = h++;
                        long raw = memory.getLong(slot + SLOT_MESSAGE_OFFSET);
                        long offset = checkLive ? checkedLive(position, raw, length) : checkedCheaply(position, raw, length);
                        handed++;
                        offsetCount++;
                        // Release the slot before taking the block over: a receiver killed after the
                        // take-over must not leave a slot that delivers the block again once it is
                        // reclaimed. Killed in between, the block stays handed off (kept, a leak).
                        endBatch(h);
                        heap.takeOver(offset); // the handler holds it now: reclaimed if this process dies before freeing it
                        handler.onMessage(offset, length);
                    } else if (kind == PADDING) {
                        h++;
                    } else {
                        throw badHeader(h++, header);
                    }
                } else if (!skipDeadClaim(h, slot, sequence)) {
                    break;
                }
            }
        } finally {
            endBatch(h);
        }
        return handed;
    }

    @Override
    public Optional<Message> poll(long timeout, TimeUnit unit) throws InterruptedException {
        Backoff backoff = Backoff.of(unit.toNanos(timeout), SPINS, YIELDS, MAX_SLEEP_NANOS);
        try {
            while (true) {
                Optional<Message> message = poll();
                if (message.isPresent() || backoff.expired()) {
                    return message;
                }
                idle(backoff);
            }
        } finally {
            wakeUp();
        }
    }

    /**
     * One step of waiting for the slot at head: spin, then yield, then (with the waiting word
     * announced by a CAS, a full fence, and the slot re-checked after it) FUTEX_WAIT: the first
     * sleep after an announcement at most {@link #FIRST_SLEEP_NANOS}, later ones longer.
     */
    private void idle(Backoff backoff) throws InterruptedException {
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
            announceSleep();
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

    /** Clears the waiting word if this receiver set it, so that producers stop waking it. */
    private void wakeUp() {
        sleeping = false;
        if (announced) {
            announced = false;
            clearSleep();
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
     * Ends a batch at position {@code h}: stores head once (one ordered store on the consumer's
     * own line releases every slot of the batch) and the delivery counters, and only then frees
     * the batch's offset blocks, so that a consumer killed in between leaks them rather than
     * having a later receiver deliver (and free) them again.
     */
    private void endBatch(long h) {
        if (h != head) {
            head = h;
            sleeping = false;
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
     * {@link ShmChannel#LIVENESS_CHECK_NANOS}, and no live producer's intent says {@code h},
     * its claimant is dead: store a padding header and CAS the sequence from {@code h} to
     * committed, and return true (the caller looks at the slot again and passes it). False if
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
        if (!sleeping && (++stuckPolls & CLOCK_POLL_MASK) != 0) {
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
        if (heap.getLongVolatile(channel.base() + TAIL_OFFSET) <= h || channel.liveClaimantMayHold(h)) {
            return false;
        }
        // The claimant is dead and writes no more; but it may have committed just before it died
        // (after the sequence read above): look again before overwriting the header.
        if (memory.getLongVolatile(slot + SLOT_SEQUENCE_OFFSET) != h) {
            return true;
        }
        memory.putLong(slot + SLOT_HEADER_OFFSET, header(PADDING, 0));
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
            clearSleep();
            heap.compareAndSetLong(channel.base() + CONSUMER_OFFSET, token, 0);
        }
    }

    @Override
    public String toString() {
        return "ShmReceiver{" + channel + ", head=" + head + "}";
    }

    /** Collects the one message of {@link #poll()}. */
    private static final class Taker implements MessageHandler {
        boolean checkLive;
        Message taken;

        @Override
        public void onMessage(long offset, long length) {
            taken = new Message(offset, length);
        }
    }
}
