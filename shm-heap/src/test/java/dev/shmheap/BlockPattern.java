package dev.shmheap;

/**
 * The owner/sequence pattern the multi-process tests write into every block they hold, so
 * that a block handed to two processes at once shows up as an overwrite.
 *
 * <p>A block of the pattern {@code base = owner << 48 | seq} holds, for word index {@code i}
 * (byte offset {@code 8 i} in the block), {@code base ^ i * GOLDEN}; so word 0 is the base
 * itself. Blocks up to {@link #FULL_LIMIT} bytes are covered word by word; larger ones at word
 * 0, one word per 4 KiB page and their last whole word. The bytes after the last whole word of
 * the requested size and the last word of the usable size are covered too. Owner ids are
 * never 0, so zeroed memory never matches.
 */
final class BlockPattern {
    /** Blocks up to this many bytes get the pattern in every word. */
    static final long FULL_LIMIT = 4096;
    private static final long GOLDEN = 0x9E37_79B9_7F4A_7C15L;
    private static final int SPARSE_STRIDE_WORDS = 4096 / 8;

    private BlockPattern() {
    }

    static long base(int owner, long seq) {
        if (owner <= 0 || owner > 0xFFFF) {
            throw new IllegalArgumentException("owner=" + owner + " must be in 1..65535");
        }
        return ((long) owner << 48) | (seq & 0xFFFF_FFFF_FFFFL);
    }

    static long word(long base, long index) {
        return base ^ (index * GOLDEN);
    }

    private static byte tailByte(long base, long byteIndex) {
        return (byte) ((base >>> (8 * (byteIndex & 7))) ^ byteIndex);
    }

    /** Writes the pattern of {@code base} into the block of {@code size} requested bytes. */
    static void write(ShmHeap heap, long offset, long size, long usable, long base) {
        visit(heap, offset, size, usable, base, true);
    }

    /** Null if the block still holds the pattern of {@code base}, else what differs and where. */
    static String check(ShmHeap heap, long offset, long size, long usable, long base) {
        return visit(heap, offset, size, usable, base, false);
    }

    private static String visit(ShmHeap heap, long offset, long size, long usable, long base, boolean write) {
        long words = size / 8;
        if (size <= FULL_LIMIT) {
            for (long i = 0; i < words; i++) {
                String problem = word(heap, offset, i, base, write);
                if (problem != null) {
                    return problem;
                }
            }
        } else {
            for (long i = 0; i < words; i += SPARSE_STRIDE_WORDS) {
                String problem = word(heap, offset, i, base, write);
                if (problem != null) {
                    return problem;
                }
            }
            String problem = word(heap, offset, words - 1, base, write);
            if (problem != null) {
                return problem;
            }
        }
        for (long b = words * 8; b < size; b++) {
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
        if (usable - 8 >= roundedSize) {
            return word(heap, offset, (usable - 8) / 8, base, write);
        }
        return null;
    }

    private static String word(ShmHeap heap, long offset, long index, long base, boolean write) {
        long expected = word(base, index);
        long at = offset + index * 8;
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

    static String describe(long base) {
        return "owner " + (base >>> 48) + " seq " + (base & 0xFFFF_FFFF_FFFFL);
    }
}
