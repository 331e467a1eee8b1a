package dev.shmheap.ipc;

/**
 * Layout of a shared-memory channel (format version 4): one heap block holding a header, a
 * producer table and a ring of {@code capacity} slots of {@code slotLength} bytes each, in
 * which a message travels as a record of one or more consecutive slots. All
 * offsets are relative to the start of the block (found by name through
 * {@code ShmHeap.lookup}); every field is a native-order {@code long}. The block's size is
 * checked once when a process attaches; the hot paths then access these offsets without a check
 * per access ({@code ChannelMemory}: the offsets come from the constants below and
 * {@code position & (capacity - 1)}, never from the file). This is the channel's own format inside one heap block; the
 * heap file format (docs/FORMAT.md) does not change with it.
 *
 * <p>Header: each contended word sits in its own 128-byte region (two cache lines, so that
 * adjacent-line prefetch cannot make producers and the consumer share a line).
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                     Magic "SHMCHAN" + version 4               |    0  written last (release):
 *  +---------------------------------------------------------------+       the channel is ready
 *  |                     Capacity (slots, power of two)            |    8
 *  +---------------------------------------------------------------+
 *  |                     Producer table entries (64)               |   16
 *  +---------------------------------------------------------------+
 *  |                     Creator process token                     |   24
 *  +---------------------------------------------------------------+
 *  |                     Slot length (bytes, multiple of 16)       |   32
 *  +---------------------------------------------------------------+
 *  |                     Exclusive producer token (0 = none)       |   40
 *  +---------------------------------------------------------------+
 *  |                     (padding to 128)                         ...
 *  +---------------------------------------------------------------+
 *  |                     Tail: next position a producer claims     |  128  producers (CAS)
 *  +---------------------------------------------------------------+
 *  |                     (padding to 256)                         ...
 *  +---------------------------------------------------------------+
 *  |                     Head: next position the consumer reads    |  256  consumer only, once
 *  +---------------------------------------------------------------+       per batch
 *  |                     Consumer process token (0 = none)         |  264
 *  +---------------------------------------------------------------+
 *  |                     Skipped slots (dead producers)            |  272
 *  +---------------------------------------------------------------+
 *  |                     Futex waits (times the consumer slept)    |  280
 *  +---------------------------------------------------------------+
 *  |                     Messages delivered inline                 |  288
 *  +---------------------------------------------------------------+
 *  |                     Messages delivered by offset              |  296
 *  +---------------------------------------------------------------+
 *  |  Delivered: the position after the last record of several     |  304  stored before its
 *  |  slots handed to a reader (not to be delivered again)         |       words are restored
 *  +---------------------------------------------------------------+
 *  |                     (padding to 384)                         ...
 *  +---------------------------------------------------------------+
 *  |  Consumer waiting (futex word: low 32 bits of this long)      |  384  0 = awake, 1 = asleep
 *  +---------------------------------------------------------------+
 *  |                     Futex wakes (issued by producers)         |  392
 *  +---------------------------------------------------------------+
 *  |                     (padding to 512)                         ...
 *  +---------------------------------------------------------------+
 *  |                     Producer table: 64 entries of 128 bytes  ...  512
 *  +---------------------------------------------------------------+
 *  |                     Slots: capacity x slotLength bytes       ... 8704
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Producer-table entry (128 bytes, so that each producer's intent word is on lines of its own):
 * <pre>
 *  +---------------------------------------------------------------+
 *  |                     Process token (0 = free entry)            |  0
 *  +---------------------------------------------------------------+
 *  |                     Intent: the first position this producer  |  8  -1 = none yet, or
 *  |                     is claiming or has claimed last           |     changing (see below)
 *  +---------------------------------------------------------------+
 *  |                     Intent end: one past the claim's last     | 16  the claim's extent
 *  |                     position (padding and record)             |
 *  +---------------------------------------------------------------+
 *  |                     (padding to 128)                         ...
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Record at position {@code pos}: it starts at the slot of {@code pos} ({@code slotLength}
 * bytes, a multiple of 16 from 32 to 64 KiB; slot {@code i} serves positions {@code i, i +
 * capacity, ...}) and takes {@link #recordSlots} consecutive slots; it never crosses the end of
 * the ring (a claim that would is preceded by a PADDING record up to the end). With the
 * default 32-byte slots, a 64-byte message:
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                     Sequence: a position                      |  0   slot pos
 *  +---------------+-----------------------------------------------+
 *  |     kind      |           message length (56 bits)            |  8   header word
 *  +---------------+-----------------------------------------------+
 *  |                     payload bytes 0..15                       | 16
 *  +---------------------------------------------------------------+
 *  |   payload 16..23, over slot pos+1's sequence word (restored)  | 32   slot pos + 1
 *  +---------------------------------------------------------------+
 *  |                     payload bytes 24..47                     ... 40
 *  +---------------------------------------------------------------+
 *  |   payload 48..55, over slot pos+2's sequence word (restored)  | 64   slot pos + 2
 *  +---------------------------------------------------------------+
 *  |                     payload bytes 56..63, then unused        ... 72 .. 96
 *  +---------------------------------------------------------------+
 *   kind 1 = INLINE: the payload follows the header; ceil((16 + length) / slotLength) slots
 *   kind 2 = OFFSET: the message block's heap offset at 16; one slot
 *   kind 3 = PADDING (aborted, skipped as a dead claim, or the end of the ring before a record
 *            that would not fit): no message; the length field is its number of slots
 * </pre>
 * A message of at most {@link #inlineCapacity(int, int)} bytes travels inline: a record of up
 * to {@link #MAX_INLINE_RECORD} bytes and a quarter of the ring (or one slot if that is
 * longer). A longer one travels in its own heap block and only the offset is in the ring.
 *
 * <p>The sequence word of the slot for position {@code pos} goes through, in order:
 * <ul>
 *   <li>{@code pos}: free for position {@code pos}, once the consumer's head has passed
 *       {@code pos - capacity}. While {@code tail > pos} the position is <em>claimed</em>: a
 *       producer moved tail past it with one CAS, after storing its claim's start and end in its
 *       intent words. A producer claims once at a time and changes its intent only when it
 *       claims the next time (a producer whose tail CAS fails withdraws its intent, -1, at once),
 *       so until its record is committed its claimant's intent covers {@code pos};</li>
 *   <li>{@code pos + capacity} at the first slot of a record: committed (the producer's one
 *       ordered store, or the consumer's CAS from {@code pos} that turns a dead claim into
 *       padding); header and payload are valid. At the slots after a record's first the
 *       payload overwrites the word (any value); the consumer, once it has read the record and
 *       before it stores head, stores {@code pos + capacity} there too. So once head has passed
 *       {@code pos}, every slot's word says "free for {@code pos + capacity}", and leftover
 *       payload can never read as the next lap's commit, {@code pos + 2 x capacity}.</li>
 * </ul>
 * Positions only grow, so a slot's sequence position never goes back. Positions are limited to
 * 56 bits (about 7.2e16 messages per channel).
 */
public final class ChannelDescriptor {
    /**
     * "SHMCHAN" followed by the format version byte 4 (version 4: a record may span several
     * slots, padding at the wrap, intents with an end; version 3 had one slot per message, and
     * its readers would take the second slot of a record for a message).
     */
    public static final long MAGIC = 0x5348_4D43_4841_4E04L;

    /** Bytes of one header region: two 64-byte cache lines. */
    public static final int REGION_LENGTH = 128;

    public static final int MAGIC_OFFSET = 0;
    public static final int CAPACITY_OFFSET = MAGIC_OFFSET + Long.BYTES;
    public static final int PRODUCER_TABLE_SIZE_OFFSET = CAPACITY_OFFSET + Long.BYTES;
    public static final int CREATOR_OFFSET = PRODUCER_TABLE_SIZE_OFFSET + Long.BYTES;
    public static final int SLOT_LENGTH_FIELD_OFFSET = CREATOR_OFFSET + Long.BYTES;
    /** Token of the process whose sender attached as the only producer; 0 when producers share the channel. */
    public static final int EXCLUSIVE_OFFSET = SLOT_LENGTH_FIELD_OFFSET + Long.BYTES;

    public static final int TAIL_OFFSET = REGION_LENGTH;

    public static final int HEAD_OFFSET = TAIL_OFFSET + REGION_LENGTH;
    public static final int CONSUMER_OFFSET = HEAD_OFFSET + Long.BYTES;
    public static final int SKIPPED_OFFSET = CONSUMER_OFFSET + Long.BYTES;
    public static final int FUTEX_WAITS_OFFSET = SKIPPED_OFFSET + Long.BYTES;
    public static final int INLINE_COUNT_OFFSET = FUTEX_WAITS_OFFSET + Long.BYTES;
    public static final int OFFSET_COUNT_OFFSET = INLINE_COUNT_OFFSET + Long.BYTES;
    /**
     * The position after the last record of several slots that a consumer handed to its reader:
     * stored before it restores the record's words, so that a consumer taking over from one
     * killed inside a batch does not deliver that record again, with restored words in it.
     */
    public static final int DELIVERED_OFFSET = OFFSET_COUNT_OFFSET + Long.BYTES;

    public static final int WAITING_OFFSET = HEAD_OFFSET + REGION_LENGTH;
    public static final int FUTEX_WAKES_OFFSET = WAITING_OFFSET + Long.BYTES;

    /** Producers that can be attached at once. */
    public static final int PRODUCER_TABLE_SIZE = 64;
    public static final int PRODUCER_TABLE_OFFSET = WAITING_OFFSET + REGION_LENGTH;
    public static final int PRODUCER_ENTRY_LENGTH = REGION_LENGTH;
    public static final int ENTRY_TOKEN_OFFSET = 0;
    public static final int ENTRY_INTENT_OFFSET = ENTRY_TOKEN_OFFSET + Long.BYTES;
    /** End (exclusive) of the positions the claim at {@link #ENTRY_INTENT_OFFSET} covers: its extent. */
    public static final int ENTRY_INTENT_END_OFFSET = ENTRY_INTENT_OFFSET + Long.BYTES;
    /** The intent word of a producer that has not claimed anything yet. */
    public static final long NO_INTENT = -1;

    public static final int SLOTS_OFFSET = alignUp(PRODUCER_TABLE_OFFSET + PRODUCER_TABLE_SIZE * PRODUCER_ENTRY_LENGTH, REGION_LENGTH);

    public static final int SLOT_SEQUENCE_OFFSET = 0;
    public static final int SLOT_HEADER_OFFSET = SLOT_SEQUENCE_OFFSET + Long.BYTES;
    /** Where an inline payload starts, and where an offset message keeps its block's offset. */
    public static final int SLOT_PAYLOAD_OFFSET = SLOT_HEADER_OFFSET + Long.BYTES;
    public static final int SLOT_MESSAGE_OFFSET = SLOT_PAYLOAD_OFFSET;

    /**
     * Slot lengths are multiples of 16 bytes, not necessarily powers of two: a slot sized to a
     * fixed message (an 80-byte slot for a 64-byte message) packs the ring, so that a message
     * moves 1.25 cache lines instead of the two of a 128-byte slot. Every word of a slot stays
     * 8-byte aligned.
     */
    public static final int SLOT_ALIGNMENT = 16;
    public static final int MIN_SLOT_LENGTH = 32;
    public static final int MAX_SLOT_LENGTH = 64 << 10;
    /**
     * Slot length of a channel created without one: a record takes as many 32-byte slots as its
     * 16-byte header and payload need (a 64-byte message: three, 96 bytes, as an Aeron frame).
     */
    public static final int DEFAULT_SLOT_LENGTH = 32;
    /** Longest record (header and payload) that travels inline unless one slot is longer; longer messages go by offset. */
    public static final int MAX_INLINE_RECORD = 1024;
    /** At most this share of the ring (1/4) is one inline record, so that a claim never waits for most of the ring. */
    public static final int RING_SHARE_SHIFT = 2;

    public static final int MIN_CAPACITY = 2;
    public static final int MAX_CAPACITY = 1 << 24;
    /** Bytes the slots of one channel may take: capacity x slotLength. */
    public static final long MAX_RING_BYTES = 1L << 30;

    /** Positions are limited to 56 bits, like lengths: a sanity bound, never reached in practice. */
    public static final long POSITION_MASK = (1L << 56) - 1;

    /** Header kinds (top byte of the header word). */
    public static final int KIND_SHIFT = 56;
    public static final long LENGTH_MASK = (1L << KIND_SHIFT) - 1;
    public static final int INLINE = 1;
    public static final int OFFSET = 2;
    public static final int PADDING = 3;

    static {
        if (Integer.bitCount(PRODUCER_TABLE_SIZE) != 1 || PRODUCER_TABLE_SIZE > 64
                || SLOTS_OFFSET < PRODUCER_TABLE_OFFSET + PRODUCER_TABLE_SIZE * PRODUCER_ENTRY_LENGTH
                || ENTRY_INTENT_END_OFFSET + Long.BYTES > PRODUCER_ENTRY_LENGTH
                || SLOTS_OFFSET % REGION_LENGTH != 0 || DELIVERED_OFFSET + Long.BYTES > WAITING_OFFSET
                || EXCLUSIVE_OFFSET + Long.BYTES > TAIL_OFFSET || WAITING_OFFSET % Integer.BYTES != 0
                || SLOT_PAYLOAD_OFFSET + Long.BYTES > MIN_SLOT_LENGTH || Integer.bitCount(DEFAULT_SLOT_LENGTH) != 1) {
            throw new ExceptionInInitializerError("inconsistent channel layout: slots at " + SLOTS_OFFSET + ", payload at "
                    + SLOT_PAYLOAD_OFFSET);
        }
    }

    private ChannelDescriptor() {
    }

    private static int alignUp(int value, int alignment) {
        return (value + alignment - 1) / alignment * alignment;
    }

    /** Bytes of a channel block with {@code capacity} slots of {@link #DEFAULT_SLOT_LENGTH}. */
    public static long blockLength(int capacity) {
        return blockLength(capacity, DEFAULT_SLOT_LENGTH);
    }

    /** Bytes of a channel block with {@code capacity} slots of {@code slotLength} bytes. */
    public static long blockLength(int capacity, int slotLength) {
        checkCapacity(capacity);
        checkSlotLength(slotLength);
        checkRing(capacity, slotLength);
        return SLOTS_OFFSET + (long) capacity * slotLength;
    }

    public static void checkCapacity(long capacity) {
        if (capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || Long.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity=" + capacity + " must be a power of two in [" + MIN_CAPACITY + ", "
                    + MAX_CAPACITY + "]");
        }
    }

    public static void checkSlotLength(long slotLength) {
        if (!isSlotLength(slotLength)) {
            throw new IllegalArgumentException("slotLength=" + slotLength + " must be a multiple of " + SLOT_ALIGNMENT + " in ["
                    + MIN_SLOT_LENGTH + ", " + MAX_SLOT_LENGTH + "]");
        }
    }

    /** True if {@code slotLength} is a valid slot length: a multiple of {@link #SLOT_ALIGNMENT} in [32, 64 KiB]. */
    public static boolean isSlotLength(long slotLength) {
        return slotLength >= MIN_SLOT_LENGTH && slotLength <= MAX_SLOT_LENGTH && slotLength % SLOT_ALIGNMENT == 0;
    }

    static void checkRing(long capacity, long slotLength) {
        if (capacity * slotLength > MAX_RING_BYTES) {
            throw new IllegalArgumentException("capacity=" + capacity + " x slotLength=" + slotLength + " exceeds " + MAX_RING_BYTES
                    + " bytes of ring");
        }
    }

    /**
     * The smallest slot length that carries a message of {@code messageLength} bytes inline: the
     * 16-byte slot header plus the message, rounded up to {@link #SLOT_ALIGNMENT} (80 for 64).
     * A channel of fixed-size messages created with it packs them as tightly as the format allows.
     *
     * @throws IllegalArgumentException if no slot can carry such a message inline (more than 64 KiB - 16 bytes, or less than 1)
     */
    public static int slotLengthFor(long messageLength) {
        if (messageLength < 1 || messageLength > inlineCapacity(MAX_SLOT_LENGTH)) {
            throw new IllegalArgumentException("messageLength=" + messageLength + " must be in [1, " + inlineCapacity(MAX_SLOT_LENGTH)
                    + "] to travel inline");
        }
        long aligned = (SLOT_PAYLOAD_OFFSET + messageLength + SLOT_ALIGNMENT - 1) / SLOT_ALIGNMENT * SLOT_ALIGNMENT;
        return (int) Math.max(MIN_SLOT_LENGTH, aligned);
    }

    /** Largest message that fits one slot of {@code slotLength} bytes. */
    public static int inlineCapacity(int slotLength) {
        return slotLength - SLOT_PAYLOAD_OFFSET;
    }

    /**
     * Largest message that travels inline in a ring of {@code capacity} slots of
     * {@code slotLength} bytes: a record of up to {@link #MAX_INLINE_RECORD} bytes and a quarter
     * of the ring, or one slot if that is longer.
     */
    public static int inlineCapacity(int capacity, int slotLength) {
        long record = Math.min(MAX_INLINE_RECORD, ((long) capacity >> RING_SHARE_SHIFT) * slotLength);
        return (int) Math.max(slotLength, record / slotLength * slotLength) - SLOT_PAYLOAD_OFFSET;
    }

    /** Slots a record of {@code kind} takes: an inline message its header and payload rounded up, an offset one, padding its length. */
    public static long recordSlots(int kind, long length, int slotLength) {
        return switch (kind) {
            case INLINE -> (SLOT_PAYLOAD_OFFSET + length + slotLength - 1) / slotLength;
            case PADDING -> length;
            default -> 1;
        };
    }

    /** Offset of the intent-end word of producer-table entry {@code index}. */
    public static long intentEndOffset(int index) {
        return PRODUCER_TABLE_OFFSET + (long) index * PRODUCER_ENTRY_LENGTH + ENTRY_INTENT_END_OFFSET;
    }

    /** Offset of the slot that serves {@code position}, relative to the channel block. */
    public static long slotOffset(long position, int capacity, int slotLength) {
        return SLOTS_OFFSET + (position & (capacity - 1)) * slotLength;
    }

    /** Offset of producer-table entry {@code index} (its token word). */
    public static long producerEntryOffset(int index) {
        return PRODUCER_TABLE_OFFSET + (long) index * PRODUCER_ENTRY_LENGTH + ENTRY_TOKEN_OFFSET;
    }

    /** Offset of the intent word of producer-table entry {@code index}. */
    public static long intentOffset(int index) {
        return PRODUCER_TABLE_OFFSET + (long) index * PRODUCER_ENTRY_LENGTH + ENTRY_INTENT_OFFSET;
    }

    /** The header word of a message of {@code kind} and {@code length} bytes. */
    public static long header(int kind, long length) {
        return ((long) kind << KIND_SHIFT) | length;
    }

    public static int kind(long header) {
        return (int) (header >>> KIND_SHIFT);
    }

    public static long length(long header) {
        return header & LENGTH_MASK;
    }

}
