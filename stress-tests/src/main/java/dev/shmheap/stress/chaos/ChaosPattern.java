package dev.shmheap.stress.chaos;

import dev.shmheap.ShmHeap;

/**
 * The owner/sequence pattern every chaos worker writes into each block it holds, and checks
 * before freeing it (the coordinator checks it too before it frees a killed worker's blocks).
 *
 * <p>With {@code base = owner << 48 | seq}, word {@code i} of a block (byte {@code 8 i}) holds
 * {@code base ^ i * GOLDEN}, so word 0 is the base. Blocks up to {@link #FULL_LIMIT} bytes are
 * covered word by word; larger ones at one word per 4 KiB page and at their last whole word.
 * The bytes past the last whole word of the requested size and the last word of the usable
 * size are covered too. Owner ids are never 0, so zeroed memory never matches.
 */
final class ChaosPattern {
    static final long FULL_LIMIT = 4096;
    private static final long GOLDEN = 0x9E37_79B9_7F4A_7C15L;
    private static final long SPARSE_STRIDE_WORDS = 4096 / 8;

    private ChaosPattern() {
    }

    static long base(long owner, long seq) {
        if (owner <= 0 || owner > 0xFFFF) {
            throw new IllegalArgumentException("owner=" + owner + " must be in 1..65535");
        }
        return owner << 48 | (seq & 0xFFFF_FFFF_FFFFL);
    }

    static void write(ShmHeap heap, long offset, long size, long usable, long base) {
        visit(heap, offset, size, usable, base, true);
    }

    /** Null if the block holds the pattern of {@code base}, else what differs and where. */
    static String check(ShmHeap heap, long offset, long size, long usable, long base) {
        return visit(heap, offset, size, usable, base, false);
    }

    static String describe(long base) {
        return "owner " + (base >>> 48) + " seq " + (base & 0xFFFF_FFFF_FFFFL);
    }

    private static String visit(ShmHeap heap, long offset, long size, long usable, long base, boolean write) {
        long words = size / 8;
        long stride = size <= FULL_LIMIT ? 1 : SPARSE_STRIDE_WORDS;
        for (long i = 0; i < words; i += stride) {
            String problem = word(heap, offset, i, base, write);
            if (problem != null) {
                return problem;
            }
        }
        if (words > 0 && stride > 1) {
            String problem = word(heap, offset, words - 1, base, write);
            if (problem != null) {
                return problem;
            }
        }
        for (long b = words * 8; b < size; b++) {
            byte expected = (byte) ((base >>> (8 * (b & 7))) ^ b);
            if (write) {
                heap.putByte(offset + b, expected);
            } else {
                byte found = heap.getByte(offset + b);
                if (found != expected) {
                    return "byte " + b + " of the block at offset " + offset + " (size " + size + "): expected " + expected + " of "
                            + describe(base) + ", found " + found;
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
        long expected = base ^ (index * GOLDEN);
        long at = offset + index * 8;
        if (write) {
            heap.putLong(at, expected);
            return null;
        }
        long found = heap.getLong(at);
        if (found == expected) {
            return null;
        }
        return "word " + index + " of the block at offset " + offset + " (offset " + at + "): expected 0x" + Long.toHexString(expected)
                + " of " + describe(base) + ", found 0x" + Long.toHexString(found) + " (as a pattern word: "
                + describe(found ^ (index * GOLDEN)) + ")";
    }
}
