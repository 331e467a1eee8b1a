package dev.shmheap.internal.memory;

import net.openhft.chronicle.core.OS;
import net.openhft.chronicle.core.UnsafeMemory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;

/**
 * A read-write mapping of a whole heap file, addressed by file offset: the Java 17-21
 * implementation, over Chronicle Core ({@code OS.map}, {@code UnsafeMemory}, which use
 * {@code sun.misc.Unsafe} and need the {@code --add-opens} of {@link dev.shmheap.JvmFlags}).
 * The jar is multi-release: on Java 22+ {@code META-INF/versions/22} holds a class of this name
 * with the same public methods over the FFM API ({@code MemorySegment}, VarHandles), which
 * needs neither Unsafe nor any {@code --add-opens}. {@code MemoryLayer} says which one runs.
 *
 * <p>Every accessor checks that the access lies inside the mapping before it touches memory,
 * so that a corrupt offset read from the file ends as an {@link IndexOutOfBoundsException}
 * naming the offset, never as a JVM crash or a write outside the mapping. Accessor names say
 * the memory ordering, as in Agrona's {@code AtomicBuffer}: plain, {@code Volatile},
 * {@code Release} (ordered store), {@code compareAndSet}.
 *
 * <p>Not thread-safe to close while other threads access it; {@code ShmHeap} guarantees that.
 */
public final class MappedMemory implements AutoCloseable {
    private static final UnsafeMemory MEMORY = UnsafeMemory.MEMORY;

    private final long address;
    private final long length;
    /** Volatile: block views of any thread read it before each access, and must not touch an unmapped file. */
    private volatile boolean closed;

    private MappedMemory(long address, long length) {
        this.address = address;
        this.length = length;
    }

    /**
     * Maps {@code length} bytes of {@code channel} from offset 0, read-write and shared.
     *
     * @throws IllegalStateException naming the missing {@code --add-opens}/{@code --add-exports}
     *                               flags when the JVM lacks those Chronicle Core needs to map
     */
    public static MappedMemory map(FileChannel channel, long length) {
        return new MappedMemory(osMap(channel, FileChannel.MapMode.READ_WRITE, length), length);
    }

    /**
     * Maps {@code length} bytes of {@code channel} from offset 0, read-only and shared: any store
     * through it would fault, so only observers ({@code HeapObserver}), which have no
     * mutating call, use it.
     */
    public static MappedMemory mapReadOnly(FileChannel channel, long length) {
        return new MappedMemory(osMap(channel, FileChannel.MapMode.READ_ONLY, length), length);
    }

    /**
     * Chronicle Core's map. Without the flags it fails deep inside (an {@code AssertionError}
     * wrapping an {@code IllegalAccessException} of {@code FileChannelImpl.map0}); that failure
     * becomes one message naming the flags this JVM lacks, when it lacks any.
     */
    private static long osMap(FileChannel channel, FileChannel.MapMode mode, long length) {
        try {
            return OS.map(channel, mode, 0, length);
        } catch (IOException e) {
            throw new UncheckedIOException((mode == FileChannel.MapMode.READ_ONLY ? "read-only " : "") + "mmap of " + length + " bytes failed", e);
        } catch (AssertionError | RuntimeException | LinkageError e) {
            throw MissingJvmFlags.explain(e, OS.class.getModule());
        }
    }

    public long length() {
        return length;
    }

    /** The process-local address of file offset 0; valid until {@link #close()}. */
    public long baseAddress() {
        return address;
    }

    /** Plain read; unaligned offsets are allowed. */
    public long getLong(long offset) {
        return MEMORY.readLong(address + check(offset, 8));
    }

    public long getLongVolatile(long offset) {
        return MEMORY.readVolatileLong(address + checkAligned(offset, 8));
    }

    /** Plain write; unaligned offsets are allowed. */
    public void putLong(long offset, long value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        MEMORY.writeLong(address + check(offset, 8), value);
    }

    public void putLongRelease(long offset, long value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        MEMORY.writeOrderedLong(address + checkAligned(offset, 8), value);
    }

    public void putLongVolatile(long offset, long value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        MEMORY.writeVolatileLong(address + checkAligned(offset, 8), value);
    }

    public boolean compareAndSetLong(long offset, long expected, long value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        return MEMORY.compareAndSwapLong(address + checkAligned(offset, 8), expected, value);
    }

    // ---- unchecked accessors: only for offsets built from an index the caller has already
    // checked against the layout (a page-map entry of a checked page, a header field), where
    // the bounds check could never fail. They keep the hot path small enough to inline.

    public long getLongUnchecked(long offset) {
        return MEMORY.readLong(address + offset);
    }

    public long getLongVolatileUnchecked(long offset) {
        return MEMORY.readVolatileLong(address + offset);
    }

    public void putLongUnchecked(long offset, long value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        MEMORY.writeLong(address + offset, value);
    }

    public void putLongReleaseUnchecked(long offset, long value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        MEMORY.writeOrderedLong(address + offset, value);
    }

    public void putByteUnchecked(long offset, byte value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        UnsafeMemory.unsafePutByte(address + offset, value);
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
        long word = address + (offset & ~3L);
        int shift = (int) (offset & 3) << 3; // little-endian: byte k is bits 8k..8k+7
        int mask = 0xFF << shift;
        while (true) {
            int current = MEMORY.readVolatileInt(word);
            if ((byte) (current >>> shift) != expected) {
                return false;
            }
            int updated = (current & ~mask) | ((value & 0xFF) << shift);
            if (MEMORY.compareAndSwapInt(word, current, updated)) {
                return true;
            }
        }
    }

    public int getInt(long offset) {
        return MEMORY.readInt(address + check(offset, 4));
    }

    public void putInt(long offset, int value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        MEMORY.writeInt(address + check(offset, 4), value);
    }

    public byte getByte(long offset) {
        return UnsafeMemory.unsafeGetByte(address + check(offset, 1));
    }

    public void putByte(long offset, byte value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        UnsafeMemory.unsafePutByte(address + check(offset, 1), value);
    }

    public void getBytes(long offset, byte[] dst, int dstIndex, int count) {
        java.util.Objects.checkFromIndexSize(dstIndex, count, dst.length);
        MEMORY.readBytes(address + check(offset, count), dst, dstIndex, count);
    }

    public void putBytes(long offset, byte[] src, int srcIndex, int count) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        java.util.Objects.checkFromIndexSize(srcIndex, count, src.length);
        MEMORY.writeBytes(address + check(offset, count), src, srcIndex, count);
    }

    public void setMemory(long offset, long count, byte value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        MEMORY.setMemory(address + check(offset, count), count, value);
    }

    public short getShort(long offset) {
        return MEMORY.readShort(address + check(offset, Short.BYTES));
    }

    public void putShort(long offset, short value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        MEMORY.writeShort(address + check(offset, Short.BYTES), value);
    }

    public char getChar(long offset) {
        return UnsafeMemory.unsafeGetChar(null, address + check(offset, Character.BYTES));
    }

    public void putChar(long offset, char value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        UnsafeMemory.unsafePutChar(null, address + check(offset, Character.BYTES), value);
    }

    public float getFloat(long offset) {
        return MEMORY.readFloat(address + check(offset, Float.BYTES));
    }

    public void putFloat(long offset, float value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        MEMORY.writeFloat(address + check(offset, Float.BYTES), value);
    }

    public double getDouble(long offset) {
        return MEMORY.readDouble(address + check(offset, Double.BYTES));
    }

    public void putDouble(long offset, double value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        MEMORY.writeDouble(address + check(offset, Double.BYTES), value);
    }

    public int getIntVolatile(long offset) {
        return MEMORY.readVolatileInt(address + checkAligned(offset, Integer.BYTES));
    }

    public void putIntRelease(long offset, int value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        MEMORY.writeOrderedInt(address + checkAligned(offset, Integer.BYTES), value);
    }

    public void putIntVolatile(long offset, int value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        MEMORY.writeVolatileInt(address + checkAligned(offset, Integer.BYTES), value);
    }

    public boolean compareAndSetInt(long offset, int expected, int value) {
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        return MEMORY.compareAndSwapInt(address + checkAligned(offset, Integer.BYTES), expected, value);
    }

    /** Atomically adds {@code delta} and returns the value before; a CAS loop. */
    public int getAndAddInt(long offset, int delta) {
        long at = address + checkAligned(offset, Integer.BYTES);
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        int current;
        do {
            current = MEMORY.readVolatileInt(at);
        } while (!MEMORY.compareAndSwapInt(at, current, current + delta));
        return current;
    }

    /** Atomically adds {@code delta} and returns the value before; a CAS loop. */
    public long getAndAddLong(long offset, long delta) {
        long at = address + checkAligned(offset, Long.BYTES);
        if (CrashPoints.ENABLED) {
            CrashPoints.beforeStore();
        }
        long current;
        do {
            current = MEMORY.readVolatileLong(at);
        } while (!MEMORY.compareAndSwapLong(at, current, current + delta));
        return current;
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
        MEMORY.copyMemory(address + from, target.address + to, count);
    }

    /** Whether the file is still mapped: false once {@link #close()} began. */
    public boolean isOpen() {
        return !closed;
    }

    /** Which implementation this is: "Chronicle Core" here, "FFM" in the Java 22+ version. */
    public static String implementation() {
        return MemoryLayer.NAME;
    }

    /** Returns {@code offset} if {@code [offset, offset + size)} lies in the mapping. */
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

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            OS.unmap(address, length);
        } catch (IOException e) {
            throw new UncheckedIOException("munmap of " + length + " bytes failed", e);
        }
    }
}
