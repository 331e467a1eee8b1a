package dev.shmheap.ipc;

import java.util.Objects;

/**
 * A region of a channel that {@link ShmSender#tryClaim(long, ShmClaim)} reserved for one
 * message: write the message's {@link #length()} bytes at heap offset {@link #offset()}, then
 * {@link #commit()} to publish it or {@link #abort()} to drop it. Reused: one per sender thread,
 * claimed again after each commit or abort.
 *
 * <p>The region is either inside the ring ({@link #isInline()}: the message's slot) or a heap
 * block allocated for the message (then only its offset travels; the receiver frees it).
 * Writers do not need to know which.
 *
 * <p>Write the message either with the heap's accessors at {@link #offset()} or, faster, with
 * this claim's own ({@link #putLong}, {@link #putBytes}): their index is relative to the claimed
 * region and checked against {@link #length()} only (the region was checked when it was
 * claimed), where each heap accessor checks the heap's data region, its sparse extents and the
 * mapping (as Aeron's {@code BufferClaim} hands out a buffer over exactly the claimed range).
 */
public final class ShmClaim {
    private ShmSender sender;
    private long position = -1;
    private long offset;
    private long length;
    private boolean inline;
    /** Process-local address of {@link #offset}. */
    private long address;

    void set(ShmSender sender, long position, long offset, long length, boolean inline, long address) {
        this.sender = sender;
        this.address = address;
        this.position = position;
        this.offset = offset;
        this.length = length;
        this.inline = inline;
    }

    /** True between a successful claim and its commit or abort. */
    public boolean isActive() {
        return position >= 0;
    }

    /** Heap offset of the first writable byte. */
    public long offset() {
        ensureActive();
        return offset;
    }

    /** Bytes of the message, as claimed. */
    public long length() {
        ensureActive();
        return length;
    }

    /** True if the region is inside the channel's ring, false if it is a heap block of its own. */
    public boolean isInline() {
        ensureActive();
        return inline;
    }

    /** Publishes the message: one ordered store; wakes the consumer only if it sleeps. */
    public void commit() {
        ensureActive();
        long at = position;
        position = -1;
        sender.commit(at, offset, length, inline ? ChannelDescriptor.INLINE : ChannelDescriptor.OFFSET);
    }

    /** Drops the message: the slot is published as padding, which the consumer passes; a block is freed. */
    public void abort() {
        ensureActive();
        long at = position;
        position = -1;
        sender.abort(at, offset, length, inline);
    }

    /**
     * Writes {@code value} (native byte order) at byte {@code index} of the claimed region.
     *
     * @throws IndexOutOfBoundsException if the 8 bytes are not all inside the claim
     * @throws IllegalStateException     if the claim is not active, or the heap has been closed
     */
    public void putLong(long index, long value) {
        ChannelMemory.putLongAt(checkedAddress(index, Long.BYTES), value);
    }

    /**
     * Reads the long (native byte order) at byte {@code index} of the claimed region.
     *
     * @throws IndexOutOfBoundsException if the 8 bytes are not all inside the claim
     * @throws IllegalStateException     if the claim is not active, or the heap has been closed
     */
    public long getLong(long index) {
        return ChannelMemory.getLongAt(checkedAddress(index, Long.BYTES));
    }

    /** Writes an int (native byte order) at byte {@code index}; checked as {@link #putLong}. */
    public void putInt(long index, int value) {
        ChannelMemory.putIntAt(checkedAddress(index, Integer.BYTES), value);
    }

    /** Reads the int (native byte order) at byte {@code index}; checked as {@link #getLong}. */
    public int getInt(long index) {
        return ChannelMemory.getIntAt(checkedAddress(index, Integer.BYTES));
    }

    /** Writes a short (native byte order) at byte {@code index}; checked as {@link #putLong}. */
    public void putShort(long index, short value) {
        ChannelMemory.putShortAt(checkedAddress(index, Short.BYTES), value);
    }

    /** Reads the short (native byte order) at byte {@code index}; checked as {@link #getLong}. */
    public short getShort(long index) {
        return ChannelMemory.getShortAt(checkedAddress(index, Short.BYTES));
    }

    /** Writes a double (its IEEE 754 bits, native byte order) at byte {@code index}; checked as {@link #putLong}. */
    public void putDouble(long index, double value) {
        ChannelMemory.putDoubleAt(checkedAddress(index, Double.BYTES), value);
    }

    /** Reads the double at byte {@code index}; checked as {@link #getLong}. */
    public double getDouble(long index) {
        return ChannelMemory.getDoubleAt(checkedAddress(index, Double.BYTES));
    }

    /** Writes one byte at byte {@code index}; checked as {@link #putLong}. */
    public void putByte(long index, byte value) {
        ChannelMemory.putByteAt(checkedAddress(index, Byte.BYTES), value);
    }

    /** Reads the byte at {@code index}; checked as {@link #getLong}. */
    public byte getByte(long index) {
        return ChannelMemory.getByteAt(checkedAddress(index, Byte.BYTES));
    }

    /**
     * Copies {@code count} bytes of {@code src} from {@code srcIndex} to byte {@code index} of the
     * claimed region.
     *
     * @throws IndexOutOfBoundsException if the bytes are not all inside the claim, or not all in {@code src}
     * @throws IllegalStateException     if the claim is not active, or the heap has been closed
     */
    public void putBytes(long index, byte[] src, int srcIndex, int count) {
        Objects.checkFromIndexSize(srcIndex, count, src.length);
        ChannelMemory.putBytesAt(checkedAddress(index, count), src, srcIndex, count);
    }

    /**
     * Copies {@code count} bytes from byte {@code fromIndex} of the message {@code from} is
     * handing to its reader (call it inside {@code MessageReader.onMessage}) to byte
     * {@code index} of the claimed region: one copy, ring to ring, for a process that forwards
     * what it reads.
     *
     * @throws IndexOutOfBoundsException if the bytes are not all inside the claim, or not all inside the message
     * @throws IllegalStateException     if the claim is not active, {@code from} is not reading a message, or the heap has been closed
     */
    public void putBytes(long index, ShmReceiver from, long fromIndex, long count) {
        long source = from.messageAddress(fromIndex, count);
        ChannelMemory.copyAt(source, checkedAddress(index, count), count);
    }

    private long checkedAddress(long index, long size) {
        ensureActive();
        if (index < 0 || index > length - size) {
            throw new IndexOutOfBoundsException("index=" + index + " and size=" + size + " reach outside the claim's length=" + length);
        }
        sender.ensureMapped();
        return address + index;
    }

    long position() {
        return position;
    }

    private void ensureActive() {
        if (position < 0) {
            throw new IllegalStateException("claim is not active: claim first with ShmSender.tryClaim, once per commit or abort");
        }
    }

    @Override
    public String toString() {
        return position < 0 ? "ShmClaim{inactive}"
                : "ShmClaim{position=" + position + ", offset=" + offset + ", length=" + length + (inline ? ", inline}" : ", by offset}");
    }
}
