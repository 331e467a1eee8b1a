package dev.shmheap.testkit;

import dev.shmheap.ShmHeap;

/**
 * The owner/sequence pattern that multi-process tests and the chaos run write into every
 * block they hold, so that a block handed to two processes at once shows up as an overwrite.
 *
 * <p>A block of the pattern {@code base = owner << 48 | seq} holds, for word index {@code i}
 * (byte offset {@code 8 i} in the block), {@code base ^ i * GOLDEN}; so word 0 is the base
 * itself. Blocks up to {@link #FULL_LIMIT} bytes are covered word by word; larger ones at word
 * 0, one word per 4 KiB page and their last whole word. The bytes after the last whole word of
 * the requested size and the last word of the usable size are covered too. Owner ids are
 * never 0, so zeroed memory never matches.
 *
 * <p>Test code only: it lives in shm-heap's test sources and reaches stress-tests through
 * shm-heap's test-jar, which holds nothing but this package; the library jar never has it.
 */
public final class BlockPattern {
    /** Blocks up to this many bytes get the pattern in every word. */
    public static final long FULL_LIMIT = 4096;
    /** Owners are 16 bits, the top of the base word. */
    public static final long MAX_OWNER = 0xFFFF;
    private static final int OWNER_SHIFT = 48;
    private static final long SEQ_MASK = (1L << OWNER_SHIFT) - 1;
    private static final long GOLDEN = 0x9E37_79B9_7F4A_7C15L;
    private static final int SPARSE_STRIDE_WORDS = 4096 / Long.BYTES;

    private BlockPattern() {
    }

    /** The pattern of block {@code seq} of {@code owner} (1..{@link #MAX_OWNER}); only the low 48 bits of seq count. */
    public static long base(long owner, long seq) {
        if (owner <= 0 || owner > MAX_OWNER) {
            throw new IllegalArgumentException("owner=" + owner + " must be in 1.." + MAX_OWNER);
        }
        return owner << OWNER_SHIFT | (seq & SEQ_MASK);
    }

    /** Word {@code index} of a block with pattern {@code base}. */
    public static long word(long base, long index) {
        return base ^ (index * GOLDEN);
    }

    private static byte tailByte(long base, long byteIndex) {
        return (byte) ((base >>> (8 * (byteIndex & 7))) ^ byteIndex);
    }

    /** Writes the pattern of {@code base} into the block of {@code size} requested and {@code usable} bytes. */
    public static void write(ShmHeap heap, long offset, long size, long usable, long base) {
        visit(heap, offset, size, usable, base, true);
    }

    /** Null if the block still holds the pattern of {@code base}, else what differs and where. */
    public static String check(ShmHeap heap, long offset, long size, long usable, long base) {
        return visit(heap, offset, size, usable, base, false);
    }

    /** "owner O seq S" of a base. */
    public static String describe(long base) {
        return "owner " + (base >>> OWNER_SHIFT) + " seq " + (base & SEQ_MASK);
    }

    private static String visit(ShmHeap heap, long offset, long size, long usable, long base, boolean write) {
        long words = size / Long.BYTES;
        long stride = size <= FULL_LIMIT ? 1 : SPARSE_STRIDE_WORDS;
        for (long i = 0; i < words; i += stride) {
            String problem = word(heap, offset, i, base, write);
            if (problem != null) {
                return problem;
            }
        }
        if (stride > 1) {
            // Sparse: the last whole word too (words > 0, as size > FULL_LIMIT).
            String problem = word(heap, offset, words - 1, base, write);
            if (problem != null) {
                return problem;
            }
        }
        for (long b = words * Long.BYTES; b < size; b++) {
            byte expected = tailByte(base, b);
            if (write) {
                heap.putByte(offset + b, expected);
            } else {
                byte found = heap.getByte(offset + b);
                if (found != expected) {
                    return "byte " + b + " of the block at offset " + offset + " (size " + size + ", offset " + (offset + b)
                            + "): expected " + expected + " of " + describe(base) + ", found " + found;
                }
            }
        }
        long roundedSize = (size + 7) & -8L;
        if (usable - Long.BYTES >= roundedSize) {
            return word(heap, offset, (usable - Long.BYTES) / Long.BYTES, base, write);
        }
        return null;
    }

    private static String word(ShmHeap heap, long offset, long index, long base, boolean write) {
        long expected = word(base, index);
        long at = offset + index * Long.BYTES;
        if (write) {
            heap.putLong(at, expected);
            return null;
        }
        long found = heap.getLong(at);
        if (found == expected) {
            return null;
        }
        long asBase = found ^ (index * GOLDEN);
        return "word " + index + " of the block at offset " + offset + " (offset " + at + "): expected 0x" + Long.toHexString(expected)
                + " of " + describe(base) + ", found 0x" + Long.toHexString(found) + " (if a pattern word: " + describe(asBase) + ")";
    }
}
