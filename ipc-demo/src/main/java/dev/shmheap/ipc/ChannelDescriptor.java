package dev.shmheap.ipc;

/**
 * Layout of a shared-memory channel: one heap block holding a header, a producer table and a
 * ring of {@code capacity} slots. All offsets are relative to the start of the block (found by
 * name through {@code ShmHeap.lookup}); every field is a native-order {@code long} accessed
 * through the heap's bounds-checked accessors.
 *
 * <p>Header: each contended word sits in its own 128-byte region (two cache lines, so that
 * adjacent-line prefetch cannot make producers and the consumer share a line).
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                     Magic "SHMCHAN" + version                 |    0  written last (release):
 *  +---------------------------------------------------------------+       the channel is ready
 *  |                     Capacity (slots, power of two)            |    8
 *  +---------------------------------------------------------------+
 *  |                     Producer table entries (64)               |   16
 *  +---------------------------------------------------------------+
 *  |                     Creator process token                     |   24
 *  +---------------------------------------------------------------+
 *  |                     (padding to 128)                         ...
 *  +---------------------------------------------------------------+
 *  |                     Tail: next position producers claim       |  128  producers (CAS)
 *  +---------------------------------------------------------------+
 *  |                     (padding to 256)                         ...
 *  +---------------------------------------------------------------+
 *  |                     Head: next position the consumer reads    |  256  consumer only
 *  +---------------------------------------------------------------+
 *  |                     Consumer process token (0 = none)         |  264
 *  +---------------------------------------------------------------+
 *  |                     Skipped slots (dead producers)            |  272
 *  +---------------------------------------------------------------+
 *  |                     Futex waits (times the consumer slept)    |  280
 *  +---------------------------------------------------------------+
 *  |                     (padding to 384)                         ...
 *  +---------------------------------------------------------------+
 *  |  Consumer waiting (futex word: low 32 bits of this long)      |  384  0 = awake, 1 = asleep
 *  +---------------------------------------------------------------+
 *  |                     Futex wakes (issued by producers)         |  392
 *  +---------------------------------------------------------------+
 *  |                     (padding to 512)                         ...
 *  +---------------------------------------------------------------+
 *  |                     Producer table: 64 process tokens         |  512  0 = free entry
 *  |                     (8 bytes each)                           ...
 *  +---------------------------------------------------------------+
 *  |                     Slots: capacity x 32 bytes               ... 1024
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Slot (32 bytes; slot {@code i} serves positions {@code i, i + capacity, i + 2 capacity, ...}):
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-----------+-----------------------------------------------+
 *  |C|A| producer  |              position (56 bits)               |  0  sequence word
 *  +-+-+-----------+-----------------------------------------------+
 *   bit 63 = CLAIMED, bit 62 = ABANDONED, bits 56..61 = producer-table index
 *  |                     Message offset in the heap                |  8
 *  +---------------------------------------------------------------+
 *  |                     Message length                            | 16
 *  +---------------------------------------------------------------+
 *  |                     Reserved                                  | 24
 *  +---------------------------------------------------------------+
 * </pre>
 * The sequence word of the slot for position {@code pos} goes through, in order:
 * <ul>
 *   <li>{@code pos}: free for position {@code pos};</li>
 *   <li>{@code CLAIMED | producer << 56 | pos}: claimed by the producer in that table entry
 *       (one CAS from {@code pos}, so owner and position change together: no ABA);</li>
 *   <li>{@code CLAIMED | ABANDONED | producer << 56 | pos}: the claimant died before publishing
 *       and the producer that took over its table entry marked the claim abandoned, so the
 *       consumer passes it without a liveness check;</li>
 *   <li>{@code pos + 1}: published; offset and length are valid;</li>
 *   <li>{@code pos + capacity}: consumed (or skipped), free for the next lap.</li>
 * </ul>
 * Positions only grow, so a slot's sequence position never goes back. Positions are limited to
 * 56 bits (about 7.2e16 messages per channel).
 */
public final class ChannelDescriptor {
    /** "SHMCHAN" followed by the format version byte 1. */
    public static final long MAGIC = 0x5348_4D43_4841_4E01L;

    /** Bytes of one header region: two 64-byte cache lines. */
    public static final int REGION_LENGTH = 128;

    public static final int MAGIC_OFFSET = 0;
    public static final int CAPACITY_OFFSET = MAGIC_OFFSET + Long.BYTES;
    public static final int PRODUCER_TABLE_SIZE_OFFSET = CAPACITY_OFFSET + Long.BYTES;
    public static final int CREATOR_OFFSET = PRODUCER_TABLE_SIZE_OFFSET + Long.BYTES;

    public static final int TAIL_OFFSET = REGION_LENGTH;

    public static final int HEAD_OFFSET = TAIL_OFFSET + REGION_LENGTH;
    public static final int CONSUMER_OFFSET = HEAD_OFFSET + Long.BYTES;
    public static final int SKIPPED_OFFSET = CONSUMER_OFFSET + Long.BYTES;
    public static final int FUTEX_WAITS_OFFSET = SKIPPED_OFFSET + Long.BYTES;

    public static final int WAITING_OFFSET = HEAD_OFFSET + REGION_LENGTH;
    public static final int FUTEX_WAKES_OFFSET = WAITING_OFFSET + Long.BYTES;

    /** Producers that can be attached at once. */
    public static final int PRODUCER_TABLE_SIZE = 64;
    public static final int PRODUCER_TABLE_OFFSET = WAITING_OFFSET + REGION_LENGTH;

    public static final int SLOTS_OFFSET = alignUp(PRODUCER_TABLE_OFFSET + PRODUCER_TABLE_SIZE * Long.BYTES, REGION_LENGTH);

    public static final int SLOT_SEQUENCE_OFFSET = 0;
    public static final int SLOT_MESSAGE_OFFSET = SLOT_SEQUENCE_OFFSET + Long.BYTES;
    public static final int SLOT_LENGTH_OFFSET = SLOT_MESSAGE_OFFSET + Long.BYTES;
    public static final int SLOT_RESERVED_OFFSET = SLOT_LENGTH_OFFSET + Long.BYTES;
    public static final int SLOT_LENGTH = SLOT_RESERVED_OFFSET + Long.BYTES;

    public static final int MIN_CAPACITY = 2;
    public static final int MAX_CAPACITY = 1 << 24;

    /** Set in a claimed sequence word. */
    public static final long CLAIMED = 1L << 63;
    public static final int PRODUCER_SHIFT = 56;
    public static final long PRODUCER_MASK = PRODUCER_TABLE_SIZE - 1;
    public static final long POSITION_MASK = (1L << PRODUCER_SHIFT) - 1;

    /** Set, with CLAIMED, in a claim whose producer died and whose table entry was taken over. */
    public static final long ABANDONED = 1L << 62;

    static {
        if (Integer.bitCount(PRODUCER_TABLE_SIZE) != 1 || PRODUCER_TABLE_SIZE > 64
                || SLOTS_OFFSET < PRODUCER_TABLE_OFFSET + PRODUCER_TABLE_SIZE * Long.BYTES
                || SLOTS_OFFSET % REGION_LENGTH != 0 || SLOT_LENGTH != 32 || WAITING_OFFSET % Integer.BYTES != 0) {
            throw new ExceptionInInitializerError("inconsistent channel layout: slots at " + SLOTS_OFFSET + ", slot length "
                    + SLOT_LENGTH);
        }
    }

    private ChannelDescriptor() {
    }

    private static int alignUp(int value, int alignment) {
        return (value + alignment - 1) / alignment * alignment;
    }

    /** Bytes of a channel block with {@code capacity} slots. */
    public static long blockLength(int capacity) {
        checkCapacity(capacity);
        return SLOTS_OFFSET + (long) capacity * SLOT_LENGTH;
    }

    public static void checkCapacity(long capacity) {
        if (capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || Long.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity=" + capacity + " must be a power of two in [" + MIN_CAPACITY + ", "
                    + MAX_CAPACITY + "]");
        }
    }

    /** Offset of the slot that serves {@code position}, relative to the channel block. */
    public static long slotOffset(long position, int capacity) {
        return SLOTS_OFFSET + (position & (capacity - 1)) * SLOT_LENGTH;
    }

    public static long producerEntryOffset(int index) {
        return PRODUCER_TABLE_OFFSET + (long) index * Long.BYTES;
    }

    /** The sequence word of a slot that producer {@code index} claimed for {@code position}. */
    public static long claimed(int producer, long position) {
        return CLAIMED | ((long) producer << PRODUCER_SHIFT) | position;
    }

    public static boolean isClaimed(long sequence) {
        return sequence < 0;
    }

    public static boolean isAbandoned(long sequence) {
        return (sequence & (CLAIMED | ABANDONED)) == (CLAIMED | ABANDONED);
    }

    /** The producer-table index in a claimed sequence word. */
    public static int claimant(long sequence) {
        return (int) ((sequence >>> PRODUCER_SHIFT) & PRODUCER_MASK);
    }

    public static long position(long sequence) {
        return sequence & POSITION_MASK;
    }

    /** The sequence word as text, for diagnostics. */
    public static String sequenceToString(long sequence) {
        return isClaimed(sequence)
                ? (isAbandoned(sequence) ? "abandoned(producer=" : "claimed(producer=") + claimant(sequence) + ", position="
                        + position(sequence) + ")"
                : "sequence(" + sequence + ")";
    }
}
