package dev.shmheap.internal.memory;

import net.openhft.chronicle.core.OS;
import net.openhft.chronicle.core.UnsafeMemory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;

/**
 * A read-write mapping of a whole heap file, addressed by file offset.
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
    private boolean closed;

    private MappedMemory(long address, long length) {
        this.address = address;
        this.length = length;
    }

    /** Maps {@code length} bytes of {@code channel} from offset 0, read-write and shared. */
    public static MappedMemory map(FileChannel channel, long length) {
        try {
            return new MappedMemory(OS.map(channel, FileChannel.MapMode.READ_WRITE, 0, length), length);
        } catch (IOException e) {
            throw new UncheckedIOException("mmap of " + length + " bytes failed", e);
        }
    }

    /**
     * Maps {@code length} bytes of {@code channel} from offset 0, read-only and shared: any store
     * through it would fault, so only observers ({@code HeapObserver}), which have no
     * mutating call, use it.
     */
    public static MappedMemory mapReadOnly(FileChannel channel, long length) {
        try {
            return new MappedMemory(OS.map(channel, FileChannel.MapMode.READ_ONLY, 0, length), length);
        } catch (IOException e) {
            throw new UncheckedIOException("read-only mmap of " + length + " bytes failed", e);
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

    /** Returns {@code offset} if {@code [offset, offset + size)} lies in the mapping. */
    public long check(long offset, long size) {
        if (offset < 0 || size < 0 || offset > length - size) {
            throw outside(offset, size);
        }
        return offset;
    }

    private long checkAligned(long offset, int size) {
        if ((offset & (size - 1)) != 0) {
            throw misaligned(offset, size);
        }
        return check(offset, size);
    }

    private IndexOutOfBoundsException outside(long offset, long size) {
        return new IndexOutOfBoundsException("access of " + size + " bytes at offset " + offset + " is outside the mapping of " + length + " bytes");
    }

    private static IllegalArgumentException misaligned(long offset, long size) {
        return new IllegalArgumentException("offset " + offset + " is not aligned to " + size + " bytes");
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
