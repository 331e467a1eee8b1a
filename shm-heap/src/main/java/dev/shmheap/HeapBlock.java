package dev.shmheap;

import dev.shmheap.internal.view.HeapView;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.memory.SegmentViews;
import dev.shmheap.internal.views.AgronaViews;

/**
 * A view of one live block, {@code length()} bytes from its {@code offset()}, with accessors
 * relative to the block: index 0 is the block's first byte, and every access is checked against
 * the block (not only the heap's data region). An access past its end throws
 * {@link IndexOutOfBoundsException} naming the index, the block's offset and its length.
 *
 * <pre>{@code
 * HeapBlock order = heap.block(heap.allocate(128), 128);
 * order.putLong(0, 42L);
 * order.putDouble(8, 99.5);
 * order.getAndAddInt(16, 1);
 * order.putLong(120, 7L);   // the last 8 bytes
 * order.putLong(200, 7L);   // IndexOutOfBoundsException: ... index 200 ... block at offset ... of 128 bytes
 * }</pre>
 *
 * <ul>
 *   <li><b>Byte order</b>: native (little-endian on x86-64 and AArch64), as {@link ShmHeap}'s
 *       accessors, a {@code MemorySegment} with {@code ValueLayout.JAVA_*} and Agrona's buffers
 *       read it; the same in every process of one host.</li>
 *   <li><b>Alignment</b>: plain accesses take any index. The ordered and atomic ones
 *       ({@code Volatile}, {@code Release}, {@code compareAndSet}, {@code getAndAdd}) need the
 *       byte's file offset to be a multiple of the access size, else
 *       {@link IllegalArgumentException}; blocks start 8-byte aligned, so index {@code 8k} is
 *       fine for a long.</li>
 *   <li><b>Lifetime</b>: a view is checked once, when made, against the live block; it does
 *       not notice a later free of the block (then it reads and writes free memory, like an
 *       offset would). After the heap's {@code close()} every access throws
 *       {@link IllegalStateException}.</li>
 *   <li>A view from a {@link HeapObserver} is read-only: every store throws
 *       {@link IllegalStateException}.</li>
 * </ul>
 *
 * <p>Through {@link #as(Class)} the same block can be seen as a {@code MemorySegment} (Java 22+)
 * or an Agrona buffer. Instances are immutable and may be shared between threads; the memory
 * they view is shared with every process attached to the heap.
 */
public final class HeapBlock {
    private final HeapView heap;
    private final MappedMemory memory;
    private final long offset;
    private final long length;
    private final boolean readOnly;

    private HeapBlock(HeapView heap, long offset, long length, boolean readOnly) {
        this.heap = heap;
        this.memory = heap.memory();
        this.offset = offset;
        this.length = length;
        this.readOnly = readOnly;
    }

    /**
     * The view {@link ShmHeap#block(long, long)} and {@link HeapObserver#block(long, long)}
     * return: checks that a live block starts at {@code offset} and holds {@code length} bytes.
     */
    static HeapBlock of(HeapView heap, long offset, long length, boolean readOnly) {
        long usable = heap.usableSize(offset);
        if (length <= 0 || length > usable) {
            throw new IllegalArgumentException("length=" + length + " of a view of the block at offset=" + offset
                    + " must be in [1, " + usable + "] (its usable size; heap " + heap.path() + ")");
        }
        return new HeapBlock(heap, offset, length, readOnly);
    }

    /** {@link #of} for the whole usable size. */
    static HeapBlock whole(HeapView heap, long offset, boolean readOnly) {
        return of(heap, offset, heap.usableSize(offset), readOnly);
    }

    /** The block's offset in the heap file: what other processes name it by. */
    public long offset() {
        return offset;
    }

    /** How many bytes this view covers: valid indexes are {@code 0 .. length() - 1}. */
    public long length() {
        return length;
    }

    /** The heap file this block lies in. */
    public java.nio.file.Path path() {
        return heap.path();
    }

    // ---- plain accesses: any index, native byte order ----

    public byte getByte(long index) {
        return memory.getByte(at(index, Byte.BYTES));
    }

    public void putByte(long index, byte value) {
        memory.putByte(writableAt(index, Byte.BYTES), value);
    }

    public short getShort(long index) {
        return memory.getShort(at(index, Short.BYTES));
    }

    public void putShort(long index, short value) {
        memory.putShort(writableAt(index, Short.BYTES), value);
    }

    public char getChar(long index) {
        return memory.getChar(at(index, Character.BYTES));
    }

    public void putChar(long index, char value) {
        memory.putChar(writableAt(index, Character.BYTES), value);
    }

    public int getInt(long index) {
        return memory.getInt(at(index, Integer.BYTES));
    }

    public void putInt(long index, int value) {
        memory.putInt(writableAt(index, Integer.BYTES), value);
    }

    public long getLong(long index) {
        return memory.getLong(at(index, Long.BYTES));
    }

    public void putLong(long index, long value) {
        memory.putLong(writableAt(index, Long.BYTES), value);
    }

    public float getFloat(long index) {
        return memory.getFloat(at(index, Float.BYTES));
    }

    public void putFloat(long index, float value) {
        memory.putFloat(writableAt(index, Float.BYTES), value);
    }

    public double getDouble(long index) {
        return memory.getDouble(at(index, Double.BYTES));
    }

    public void putDouble(long index, double value) {
        memory.putDouble(writableAt(index, Double.BYTES), value);
    }

    /** Copies {@code count} bytes from {@code index} to {@code dst[dstIndex ..]}. */
    public void getBytes(long index, byte[] dst, int dstIndex, int count) {
        memory.getBytes(at(index, count), dst, dstIndex, count);
    }

    /** Copies {@code count} bytes of {@code src[srcIndex ..]} to {@code index}. */
    public void putBytes(long index, byte[] src, int srcIndex, int count) {
        memory.putBytes(writableAt(index, count), src, srcIndex, count);
    }

    // ---- ordered and atomic accesses: the byte's file offset aligned to the access size ----

    public int getIntVolatile(long index) {
        return memory.getIntVolatile(at(index, Integer.BYTES));
    }

    public void putIntVolatile(long index, int value) {
        memory.putIntVolatile(writableAt(index, Integer.BYTES), value);
    }

    /** An ordered store: earlier stores are visible to whoever reads this value. */
    public void putIntRelease(long index, int value) {
        memory.putIntRelease(writableAt(index, Integer.BYTES), value);
    }

    public boolean compareAndSetInt(long index, int expected, int value) {
        return memory.compareAndSetInt(writableAt(index, Integer.BYTES), expected, value);
    }

    /** Atomically adds {@code delta}; returns the value before. */
    public int getAndAddInt(long index, int delta) {
        return memory.getAndAddInt(writableAt(index, Integer.BYTES), delta);
    }

    public long getLongVolatile(long index) {
        return memory.getLongVolatile(at(index, Long.BYTES));
    }

    public void putLongVolatile(long index, long value) {
        memory.putLongVolatile(writableAt(index, Long.BYTES), value);
    }

    /** An ordered store: earlier stores are visible to whoever reads this value. */
    public void putLongRelease(long index, long value) {
        memory.putLongRelease(writableAt(index, Long.BYTES), value);
    }

    public boolean compareAndSetLong(long index, long expected, long value) {
        return memory.compareAndSetLong(writableAt(index, Long.BYTES), expected, value);
    }

    /** Atomically adds {@code delta}; returns the value before. */
    public long getAndAddLong(long index, long delta) {
        return memory.getAndAddLong(writableAt(index, Long.BYTES), delta);
    }

    // ---- bulk ----

    /**
     * Copies {@code count} bytes from {@code index} of this block to {@code targetIndex} of
     * {@code target}, a block of this heap or of another one. Overlapping ranges (within one
     * block) are refused.
     *
     * @throws IndexOutOfBoundsException if either range leaves its block
     * @throws IllegalArgumentException  if the two ranges overlap
     */
    public void copyTo(long index, HeapBlock target, long targetIndex, long count) {
        long from = at(index, count);
        long to = target.writableAt(targetIndex, count);
        if (target.memory == memory && from < to + count && to < from + count) {
            throw new IllegalArgumentException("copy of count=" + count + " bytes from offset " + from + " to offset " + to
                    + " overlaps itself (heap " + heap.path() + ")");
        }
        memory.copy(from, target.memory, to, count);
    }

    /** Sets {@code count} bytes from {@code index} to {@code value}. */
    public void fill(long index, long count, byte value) {
        memory.setMemory(writableAt(index, count), count, value);
    }

    // ---- other views of the same bytes ----

    /**
     * This block seen as {@code type}:
     * <ul>
     *   <li>{@code java.lang.foreign.MemorySegment} (Java 22+): a slice of the heap's mapping,
     *       exactly this view's bytes, bounded to them, read-only from a {@link HeapObserver}. It belongs
     *       to the shared {@code Arena} the heap's {@code close()} closes: after that, every access
     *       through it throws {@link IllegalStateException}, never touching unmapped memory.
     *       A view from a {@link HeapObserver} gives a read-only segment.
     *       On Java 17-21 this throws {@link UnsupportedOperationException}.</li>
     *   <li>Agrona's {@code DirectBuffer}, {@code MutableDirectBuffer}, {@code AtomicBuffer} or
     *       {@code UnsafeBuffer} (Agrona on the class path, any Java): an {@code UnsafeBuffer}
     *       over the block's address. It is not tied to {@code close()}: the rule is to drop it
     *       before closing the heap, as for {@link ShmHeap#address(long)}. Agrona 2 accesses
     *       memory through {@code jdk.internal.misc.Unsafe}, so the JVM needs
     *       {@link JvmFlags#forAgrona()} on every Java; only the read-only {@code DirectBuffer}
     *       is offered for a view from a {@link HeapObserver}.</li>
     * </ul>
     *
     * @throws IllegalArgumentException      for any other type, naming the types offered
     * @throws UnsupportedOperationException for a {@code MemorySegment} before Java 22
     * @throws IllegalStateException         if the heap is closed, or a writable Agrona view of an observer's block is asked for
     */
    public <V> V as(Class<V> type) {
        at(0, length);
        if (type.getName().equals(SegmentViews.SEGMENT_TYPE)) {
            return type.cast(SegmentViews.slice(memory, offset, length));
        }
        if (type.getName().startsWith("org.agrona.") && AgronaViews.isAgronaBuffer(type)) {
            if (readOnly && AgronaViews.writes(type)) {
                throw new IllegalStateException("heap " + heap.path() + " is open read-only: ask for a DirectBuffer, not " + type.getName());
            }
            if (length > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("an Agrona buffer holds at most 2 GiB; this view has length=" + length);
            }
            return type.cast(AgronaViews.wrap(memory.baseAddress() + offset, (int) length));
        }
        throw new IllegalArgumentException("a block can be seen as " + SegmentViews.SEGMENT_TYPE + " (Java 22+) or as Agrona's "
                + "DirectBuffer, MutableDirectBuffer, AtomicBuffer or UnsafeBuffer, not as " + type.getName());
    }

    /** The file offset of {@code [index, index + size)}, after checking it lies in the block and the heap is open. */
    private long at(long index, long size) {
        if (index < 0 || size < 0 || index > length - size) {
            throw new IndexOutOfBoundsException("access of " + size + " bytes at index " + index + " is outside the block at offset "
                    + offset + " of " + length + " bytes (heap " + heap.path() + ")");
        }
        if (!memory.isOpen()) {
            throw new IllegalStateException("heap " + heap.path() + " is closed");
        }
        return offset + index;
    }

    private long writableAt(long index, long size) {
        if (readOnly) {
            throw new IllegalStateException("heap " + heap.path() + " is open read-only");
        }
        return at(index, size);
    }

    @Override
    public String toString() {
        return "HeapBlock{offset=" + offset + ", length=" + length + ", heap " + heap.path() + "}";
    }
}
