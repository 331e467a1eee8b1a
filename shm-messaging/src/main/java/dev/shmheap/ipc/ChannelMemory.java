package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;
import sun.misc.Unsafe;

import java.lang.reflect.Field;

/**
 * Access to one channel's block without a bounds check per access: the hot paths of
 * {@link ShmSender} and {@link ShmReceiver} make about ten accesses per message, and the heap's
 * accessors check each one against the data region, the sparse-extent bitmap and the mapping
 * (measured: most of the per-message cost of a 64-byte message once it travelled inline).
 *
 * <p>Why this is still safe: the block was validated once ({@link ShmChannel} checks at create
 * and attach that {@code SLOTS_OFFSET + capacity * slotLength} bytes fit in the live block bound
 * to the name), and every offset passed here is relative to the block and computed from
 * constants of {@link ChannelDescriptor} and {@code position & (capacity - 1)}: it cannot leave
 * the block whatever the shared memory says. Nothing read from shared memory is ever used as an
 * address here. The heap's own accessors remain the only way to reach a <em>message block</em>
 * named by an offset read from a slot. The one thing a per-access check also caught, a closed
 * (unmapped) heap, is checked once per operation with {@link #ensureMapped()}.
 */
final class ChannelMemory {
    private static final Unsafe UNSAFE = unsafe();

    private final ShmHeap heap;
    private final long channelOffset;
    private final long address;
    private final long length;

    ChannelMemory(ShmHeap heap, long channelOffset, long length) {
        // address() checks that the heap is open and the offset in its data region; the caller
        // has checked that the block holds length bytes.
        this.heap = heap;
        this.channelOffset = channelOffset;
        this.address = heap.address(channelOffset);
        this.length = length;
    }

    /** Throws {@link IllegalStateException} if the heap has been closed (its mapping is gone). */
    void ensureMapped() {
        heap.address(channelOffset);
    }

    /** Bytes of the block this accesses. */
    long length() {
        return length;
    }

    long getLong(long offset) {
        return UNSAFE.getLong(address + offset);
    }

    /** Process-local address of {@code offset} in the channel's block. */
    long address(long offset) {
        return address + offset;
    }

    // Plain reads and writes (native byte order) at process-local addresses the caller has checked.

    static long getLongAt(long address) {
        return UNSAFE.getLong(address);
    }

    static void putLongAt(long address, long value) {
        UNSAFE.putLong(address, value);
    }

    static int getIntAt(long address) {
        return UNSAFE.getInt(address);
    }

    static void putIntAt(long address, int value) {
        UNSAFE.putInt(address, value);
    }

    static short getShortAt(long address) {
        return UNSAFE.getShort(address);
    }

    static void putShortAt(long address, short value) {
        UNSAFE.putShort(address, value);
    }

    static double getDoubleAt(long address) {
        return UNSAFE.getDouble(address);
    }

    static void putDoubleAt(long address, double value) {
        UNSAFE.putDouble(address, value);
    }

    static byte getByteAt(long address) {
        return UNSAFE.getByte(address);
    }

    static void putByteAt(long address, byte value) {
        UNSAFE.putByte(address, value);
    }

    /** Copies {@code count} bytes of {@code src} to a process-local address the caller has checked. */
    static void putBytesAt(long address, byte[] src, int srcIndex, int count) {
        UNSAFE.copyMemory(src, Unsafe.ARRAY_BYTE_BASE_OFFSET + srcIndex, null, address, count);
    }

    /** Copies {@code count} bytes from a process-local address the caller has checked to {@code dst}. */
    static void getBytesAt(long address, byte[] dst, int dstIndex, int count) {
        UNSAFE.copyMemory(null, address, dst, Unsafe.ARRAY_BYTE_BASE_OFFSET + dstIndex, count);
    }

    /**
     * Copies {@code count} bytes between process-local addresses the caller has checked. Up to
     * {@link #WORD_COPY_LIMIT} bytes move as 8-byte loads and stores: {@code Unsafe.copyMemory}
     * between two native addresses cost about 0.1 us more per 64-byte echo in the round-trip
     * benchmark than the same bytes copied twice through a byte array.
     */
    static void copyAt(long from, long to, long count) {
        if (count > WORD_COPY_LIMIT) {
            UNSAFE.copyMemory(from, to, count);
            return;
        }
        long i = 0;
        for (; i + Long.BYTES <= count; i += Long.BYTES) {
            UNSAFE.putLong(to + i, UNSAFE.getLong(from + i));
        }
        for (; i < count; i++) {
            UNSAFE.putByte(to + i, UNSAFE.getByte(from + i));
        }
    }

    /** Longest copy {@link #copyAt} makes word by word. */
    static final int WORD_COPY_LIMIT = 1024;

    long getLongVolatile(long offset) {
        return UNSAFE.getLongVolatile(null, address + offset);
    }

    void putLong(long offset, long value) {
        UNSAFE.putLong(address + offset, value);
    }

    /** An ordered store: no earlier load or store of this thread moves after it. */
    void putLongRelease(long offset, long value) {
        UNSAFE.putOrderedLong(null, address + offset, value);
    }

    /** No store before this moves after any store after it (a compiler barrier on x86). */
    static void storeFence() {
        UNSAFE.storeFence();
    }

    boolean compareAndSetLong(long offset, long expected, long value) {
        return UNSAFE.compareAndSwapLong(null, address + offset, expected, value);
    }

    /** Copies {@code count} bytes of {@code src} to the block at {@code offset}. */
    void putBytes(long offset, byte[] src, int srcIndex, int count) {
        UNSAFE.copyMemory(src, Unsafe.ARRAY_BYTE_BASE_OFFSET + srcIndex, null, address + offset, count);
    }

    /** Copies {@code count} bytes of the block at {@code offset} to {@code dst}. */
    void getBytes(long offset, byte[] dst, int dstIndex, int count) {
        UNSAFE.copyMemory(null, address + offset, dst, Unsafe.ARRAY_BYTE_BASE_OFFSET + dstIndex, count);
    }

    private static Unsafe unsafe() {
        try {
            Field field = Unsafe.class.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            return (Unsafe) field.get(null);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
