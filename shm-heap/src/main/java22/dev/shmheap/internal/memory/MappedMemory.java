package dev.shmheap.internal.memory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.util.Objects;

/**
 * A read-write mapping of a whole heap file, addressed by file offset: the Java 22+
 * implementation (this jar's {@code META-INF/versions/22}), over the FFM API. The file is mapped
 * with {@code FileChannel.map(mode, 0, length, arena)} into one {@link MemorySegment} and every
 * access goes through it and {@link VarHandle}s: no {@code sun.misc.Unsafe}, no
 * {@code --add-opens}. The public methods are those of the Java 17-21 version, over Chronicle
 * Core, which the rest of the library calls without knowing which one runs.
 *
 * <p>Every accessor checks that the access lies inside the mapping before it touches memory,
 * so that a corrupt offset read from the file ends as an {@link IndexOutOfBoundsException}
 * naming the offset, never as a JVM crash or a write outside the mapping; the "unchecked" ones
 * are for offsets the caller has checked. Accessor names say the memory ordering, as in Agrona's
 * {@code AtomicBuffer}. The accessors go through {@link #EVERYTHING} (see there why).
 *
 * <p>Lifetime: the mapping's segment belongs to a shared {@link Arena} that {@link #close()}
 * closes, which unmaps the file. Its slices, the block views of {@code HeapBlock.as}, then throw
 * {@link IllegalStateException} on every access instead of touching unmapped memory, and so do
 * {@link #isOpen()}'s callers. A read-only mapping's segment is read-only: a store through a
 * view throws {@link UnsupportedOperationException}.
 */
public final class MappedMemory implements AutoCloseable {
    /** Plain accesses allow any alignment, as the Java 17 version does. */
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfChar CHAR = ValueLayout.JAVA_CHAR_UNALIGNED;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    /** Ordered and atomic accesses need natural alignment; coordinates (segment, offset). */
    private static final VarHandle LONG_ATOMIC = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT_ATOMIC = ValueLayout.JAVA_INT.varHandle();

    /**
     * All memory as one segment of the global scope, through which the accessors go: a constant
     * to the JIT, whose checks of it (bounds against {@code Long.MAX_VALUE}, a global scope that
     * is always alive) fold away, so an access costs what an Unsafe one does: our own bounds
     * check, then {@code address + offset}. Measured: through {@link #segment} instead (a shared
     * arena's segment, an instance field), C2's inlining depth (MaxInlineLevel 15) ran out inside
     * the FFM access chain on the allocate path, and a 64-byte allocate+free pair took about twice
     * as long as on Java 17. What it gives up: an access racing with {@link #close()} from another
     * thread is not caught; every caller checks that the heap is open first, and
     * {@code ShmHeap.close()} must not race with other calls (as on Java 17). The block views
     * (slices of {@link #segment}) and the bulk copies keep the arena's checks.
     * {@code reinterpret} is a restricted method: it needs --enable-native-access, as JNA does.
     */
    private static final MemorySegment EVERYTHING = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private final Arena arena;
    private final MemorySegment segment;
    private final long length;
    private final long address;

    private MappedMemory(Arena arena, MemorySegment segment) {
        this.arena = arena;
        this.segment = segment;
        this.length = segment.byteSize();
        this.address = segment.address();
    }

    /** Maps {@code length} bytes of {@code channel} from offset 0, read-write and shared. */
    public static MappedMemory map(FileChannel channel, long length) {
        return map(channel, FileChannel.MapMode.READ_WRITE, length);
    }

    /**
     * Maps {@code length} bytes of {@code channel} from offset 0, read-only and shared: the
     * segment is read-only, so a store through it throws instead of reaching the file.
     */
    public static MappedMemory mapReadOnly(FileChannel channel, long length) {
        return map(channel, FileChannel.MapMode.READ_ONLY, length);
    }

    private static MappedMemory map(FileChannel channel, FileChannel.MapMode mode, long length) {
        Arena arena = Arena.ofShared();
        try {
            return new MappedMemory(arena, channel.map(mode, 0, length, arena));
        } catch (IOException e) {
            arena.close();
            throw new UncheckedIOException((mode == FileChannel.MapMode.READ_ONLY ? "read-only " : "") + "mmap of " + length + " bytes failed", e);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** Which implementation this is: "FFM" here, "Chronicle Core" in the Java 17-21 version. */
    public static String implementation() {
        return MemoryLayer.NAME;
    }

    public long length() {
        return length;
    }

    /** The process-local address of file offset 0; valid until {@link #close()}. */
    public long baseAddress() {
        return address;
    }

    /**
     * The whole mapping as one segment, bounded to it and closed with it: slices of it are the
     * block views of Java 22+ users. Not in the Java 17-21 version, which has no segments; only
     * code of this versioned directory calls it.
     */
    public MemorySegment segment() {
        return segment;
    }

    /** Plain read; unaligned offsets are allowed. */
    public long getLong(long offset) {
        return EVERYTHING.get(LONG, address + check(offset, 8));
    }

    public long getLongVolatile(long offset) {
        return (long) LONG_ATOMIC.getVolatile(EVERYTHING, address + checkAligned(offset, 8));
    }

    /** Plain write; unaligned offsets are allowed. */
    public void putLong(long offset, long value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        EVERYTHING.set(LONG, address + check(offset, 8), value);
    }

    public void putLongRelease(long offset, long value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        LONG_ATOMIC.setRelease(EVERYTHING, address + checkAligned(offset, 8), value);
    }

    public void putLongVolatile(long offset, long value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        LONG_ATOMIC.setVolatile(EVERYTHING, address + checkAligned(offset, 8), value);
    }

    public boolean compareAndSetLong(long offset, long expected, long value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        return LONG_ATOMIC.compareAndSet(EVERYTHING, address + checkAligned(offset, 8), expected, value);
    }

    // ---- "unchecked" accessors: only for offsets built from an index the caller has already
    // checked against the layout (a page-map entry of a checked page, a header field). Here
    // the segment's own bounds check remains; the JIT folds most of it.

    public long getLongUnchecked(long offset) {
        return EVERYTHING.get(LONG, address + offset);
    }

    public long getLongVolatileUnchecked(long offset) {
        return (long) LONG_ATOMIC.getVolatile(EVERYTHING, address + offset);
    }

    public void putLongUnchecked(long offset, long value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        EVERYTHING.set(LONG, address + offset, value);
    }

    public void putLongReleaseUnchecked(long offset, long value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        LONG_ATOMIC.setRelease(EVERYTHING, address + offset, value);
    }

    public void putByteUnchecked(long offset, byte value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        EVERYTHING.set(ValueLayout.JAVA_BYTE, address + offset, value);
    }

    /**
     * Atomically replaces the byte at {@code offset} with {@code value} if it is
     * {@code expected}: a CAS of the aligned 32-bit word that holds it, retried while only the
     * other three bytes change. A plain store to a neighbouring byte cannot be lost: the CAS
     * fails and rereads.
     */
    public boolean compareAndSetByte(long offset, byte expected, byte value) {
        check(offset, 1);
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        long word = offset & ~3L;
        int shift = (int) (offset & 3) << 3; // little-endian: byte k is bits 8k..8k+7
        int mask = 0xFF << shift;
        while (true) {
            int current = (int) INT_ATOMIC.getVolatile(EVERYTHING, address + word);
            if ((byte) (current >>> shift) != expected) {
                return false;
            }
            int updated = (current & ~mask) | ((value & 0xFF) << shift);
            if (INT_ATOMIC.compareAndSet(EVERYTHING, address + word, current, updated)) {
                return true;
            }
        }
    }

    public int getInt(long offset) {
        return EVERYTHING.get(INT, address + check(offset, 4));
    }

    public void putInt(long offset, int value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        EVERYTHING.set(INT, address + check(offset, 4), value);
    }

    public byte getByte(long offset) {
        return EVERYTHING.get(ValueLayout.JAVA_BYTE, address + check(offset, 1));
    }

    public void putByte(long offset, byte value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        EVERYTHING.set(ValueLayout.JAVA_BYTE, address + check(offset, 1), value);
    }

    public void getBytes(long offset, byte[] dst, int dstIndex, int count) {
        Objects.checkFromIndexSize(dstIndex, count, dst.length);
        MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, check(offset, count), dst, dstIndex, count);
    }

    public void putBytes(long offset, byte[] src, int srcIndex, int count) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        Objects.checkFromIndexSize(srcIndex, count, src.length);
        MemorySegment.copy(src, srcIndex, segment, ValueLayout.JAVA_BYTE, check(offset, count), count);
    }

    public void setMemory(long offset, long count, byte value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        segment.asSlice(check(offset, count), count).fill(value);
    }

    public short getShort(long offset) {
        return EVERYTHING.get(SHORT, address + check(offset, Short.BYTES));
    }

    public void putShort(long offset, short value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        EVERYTHING.set(SHORT, address + check(offset, Short.BYTES), value);
    }

    public char getChar(long offset) {
        return EVERYTHING.get(CHAR, address + check(offset, Character.BYTES));
    }

    public void putChar(long offset, char value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        EVERYTHING.set(CHAR, address + check(offset, Character.BYTES), value);
    }

    public float getFloat(long offset) {
        return EVERYTHING.get(FLOAT, address + check(offset, Float.BYTES));
    }

    public void putFloat(long offset, float value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        EVERYTHING.set(FLOAT, address + check(offset, Float.BYTES), value);
    }

    public double getDouble(long offset) {
        return EVERYTHING.get(DOUBLE, address + check(offset, Double.BYTES));
    }

    public void putDouble(long offset, double value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        EVERYTHING.set(DOUBLE, address + check(offset, Double.BYTES), value);
    }

    public int getIntVolatile(long offset) {
        return (int) INT_ATOMIC.getVolatile(EVERYTHING, address + checkAligned(offset, Integer.BYTES));
    }

    public void putIntRelease(long offset, int value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        INT_ATOMIC.setRelease(EVERYTHING, address + checkAligned(offset, Integer.BYTES), value);
    }

    public void putIntVolatile(long offset, int value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        INT_ATOMIC.setVolatile(EVERYTHING, address + checkAligned(offset, Integer.BYTES), value);
    }

    public boolean compareAndSetInt(long offset, int expected, int value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        return INT_ATOMIC.compareAndSet(EVERYTHING, address + checkAligned(offset, Integer.BYTES), expected, value);
    }

    /** Atomically adds {@code delta} and returns the value before. */
    public int getAndAddInt(long offset, int delta) {
        long at = checkAligned(offset, Integer.BYTES);
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        return (int) INT_ATOMIC.getAndAdd(EVERYTHING, address + at, delta);
    }

    /** Atomically adds {@code delta} and returns the value before. */
    public long getAndAddLong(long offset, long delta) {
        long at = checkAligned(offset, Long.BYTES);
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        return (long) LONG_ATOMIC.getAndAdd(EVERYTHING, address + at, delta);
    }

    /**
     * Copies {@code count} bytes from {@code from} in this mapping to {@code to} in
     * {@code target} (this one or another heap's); the two ranges must not overlap.
     */
    public void copy(long from, MappedMemory target, long to, long count) {
        check(from, count);
        target.check(to, count);
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        MemorySegment.copy(segment, from, target.segment, to, count);
    }

    /** Whether the file is still mapped: false once {@link #close()} closed the arena. */
    public boolean isOpen() {
        return arena.scope().isAlive();
    }

    /**
     * Returns {@code offset} if {@code [offset, offset + size)} lies in the mapping. The same
     * check as the Java 17 version's, written twice on purpose: a shared static helper would add
     * a level of C2 inlining depth to every access, the budget this class is built to spare.
     */
    public long check(long offset, long size) {
        if (offset < 0 || size < 0 || offset > length - size) {
            throw MappingErrors.outside(offset, size, length);
        }
        return offset;
    }

    private long checkAligned(long offset, int size) {
        if ((offset & (size - 1)) != 0) {
            throw MappingErrors.misaligned(offset, size);
        }
        return check(offset, size);
    }

    /**
     * Unmaps the file by closing the arena. Closing a shared arena is a handshake with every
     * thread: one that is still inside an access makes it fail with an
     * {@link IllegalStateException}; later accesses all throw that.
     */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
