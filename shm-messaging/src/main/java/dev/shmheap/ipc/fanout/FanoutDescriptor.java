package dev.shmheap.ipc.fanout;

/**
 * Layout of a fan-out channel: one publisher, up to {@value #SUBSCRIBER_TABLE_SIZE} subscribers,
 * each subscriber reading every message in place. One heap block, found by name through
 * {@code ShmHeap.lookup}, holding a header, a subscriber table and a ring of {@code capacity}
 * slots. Offsets are relative to the start of the block; every field is a native-order
 * {@code long} accessed through the heap's bounds-checked accessors.
 *
 * <p><b>Why per-subscriber positions, not a reference count per block.</b> Each subscriber
 * owns one position word (the next position it will read) and releases everything below it
 * with one release-store per batch; nobody else writes it. Whoever frees blocks (the
 * <em>reclaimer</em>: the subscriber that was slowest, or the publisher when the ring is full)
 * frees every slot below the minimum of the live subscribers' positions. Against a reference
 * count per block this has three advantages that matter here:
 * <ul>
 *   <li><b>Death is harmless.</b> A subscriber killed at any instruction leaves one word that
 *       says exactly what it had released. Dropping it is one CAS on its table entry. With
 *       counts, the survivor would have to decrement the dead one's references, and cannot know
 *       whether the dead one had already decremented the block it was on when it died (a
 *       double decrement frees a block another subscriber still reads).</li>
 *   <li><b>Late join is exact.</b> A joiner starts at the tail it reads under the reclaim
 *       lock; a count fixed at publish time cannot include subscribers that join later.</li>
 *   <li><b>No shared write per message per subscriber</b>: a count is one contended atomic per
 *       block per subscriber; a position is one uncontended store per batch.</li>
 * </ul>
 *
 * <p><b>Bounded lag.</b> The publisher never gets more than {@code capacity} messages ahead of
 * the slowest live subscriber: the slot it would write still holds a block a subscriber has not
 * passed, so {@code offer} returns false (backpressure). A live subscriber is never dropped for
 * being slow; a dead one is dropped when the ring is full and at least
 * {@link #LIVENESS_CHECK_NANOS} passed since the last check.
 *
 * <p>Header: each contended word sits in its own 128-byte region (two cache lines).
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                     Magic "SHMFANO" + version                 |    0  written last (release)
 *  +---------------------------------------------------------------+
 *  |                     Capacity (slots, power of two)            |    8
 *  +---------------------------------------------------------------+
 *  |                     Subscriber table entries (16)             |   16
 *  +---------------------------------------------------------------+
 *  |                     Publisher process token (0 = none)        |   24  one publisher at a time
 *  +---------------------------------------------------------------+
 *  |                     Closed (1 = the publisher ended the stream)|  32
 *  +---------------------------------------------------------------+
 *  |                     (padding to 128)                         ...
 *  +---------------------------------------------------------------+
 *  |                     Tail: next position the publisher writes  |  128  publisher only (release)
 *  +---------------------------------------------------------------+
 *  |                     (padding to 256)                         ...
 *  +---------------------------------------------------------------+
 *  |                     Reclaimed: every slot below is freed      |  256  reclaim-lock holder only
 *  +---------------------------------------------------------------+
 *  |                     Reclaim lock: holder's token (0 = free)   |  264
 *  +---------------------------------------------------------------+
 *  |                     Dropped subscribers (dead, released)      |  272
 *  +---------------------------------------------------------------+
 *  |                     Blocks freed by reclaim                   |  280
 *  +---------------------------------------------------------------+
 *  |                     (padding to 384)                         ...
 *  +---------------------------------------------------------------+
 *  |            Subscriber entry 0 (128 bytes, see below)          |  384
 *  +---------------------------------------------------------------+
 *  |            ... entry 15                                      ...
 *  +---------------------------------------------------------------+
 *  |                     Slots: capacity x 16 bytes               ... 2432
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Subscriber entry (its own 128-byte region: only its subscriber writes the position):
 * <pre>
 *  +---------------------------------------------------------------+
 *  |                     Subscriber process token (0 = free)       |  0
 *  +---------------------------------------------------------------+
 *  |     Position: next position it reads; JOINING while free      |  8
 *  +---------------------------------------------------------------+
 *  |                     (padding to 128)                         ...
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Slot (16 bytes; slot {@code i} serves positions {@code i, i + capacity, ...}):
 * <pre>
 *  +---------------------------------------------------------------+
 *  |          Message offset in the heap (0 = none / freed)        |  0
 *  +---------------------------------------------------------------+
 *  |                     Message length                            |  8
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Invariants (positions only grow):
 * <ol>
 *   <li>{@code reclaimed <= min(position of each live subscriber) <= tail} and
 *       {@code tail - reclaimed <= capacity}.</li>
 *   <li>Slots of positions in {@code [reclaimed, tail)} hold published messages (offset != 0),
 *       except a prefix a reclaimer killed midway had already freed (offset 0: skipped).</li>
 *   <li>The publisher writes the slot of {@code tail} only when {@code tail - reclaimed < capacity},
 *       then release-stores {@code tail + 1}: a subscriber that reads tail (acquire) sees the
 *       slot complete.</li>
 *   <li>Joins and reclaims exclude each other through the reclaim lock, so a reclaimer's scan
 *       of the table never misses a subscriber whose position is below what it frees.</li>
 *   <li>A reclaimer zeroes a slot's offset before it frees the block: killed in between, it
 *       leaks that one block instead of letting the next reclaimer free it twice.</li>
 * </ol>
 */
public final class FanoutDescriptor {
    /** "SHMFANO" followed by the format version byte 1. */
    public static final long MAGIC = 0x5348_4D46_414E_4F01L;

    /** Bytes of one header region: two 64-byte cache lines. */
    public static final int REGION_LENGTH = 128;

    public static final int MAGIC_OFFSET = 0;
    public static final int CAPACITY_OFFSET = MAGIC_OFFSET + Long.BYTES;
    public static final int SUBSCRIBER_TABLE_SIZE_OFFSET = CAPACITY_OFFSET + Long.BYTES;
    public static final int PUBLISHER_OFFSET = SUBSCRIBER_TABLE_SIZE_OFFSET + Long.BYTES;
    public static final int CLOSED_OFFSET = PUBLISHER_OFFSET + Long.BYTES;

    public static final int TAIL_OFFSET = REGION_LENGTH;

    public static final int RECLAIMED_OFFSET = TAIL_OFFSET + REGION_LENGTH;
    public static final int RECLAIM_LOCK_OFFSET = RECLAIMED_OFFSET + Long.BYTES;
    public static final int DROPPED_OFFSET = RECLAIM_LOCK_OFFSET + Long.BYTES;
    public static final int FREED_OFFSET = DROPPED_OFFSET + Long.BYTES;

    /** Subscribers that can be attached at once. */
    public static final int SUBSCRIBER_TABLE_SIZE = 16;
    public static final int SUBSCRIBER_TABLE_OFFSET = RECLAIMED_OFFSET + REGION_LENGTH;
    public static final int ENTRY_TOKEN_OFFSET = 0;
    public static final int ENTRY_POSITION_OFFSET = ENTRY_TOKEN_OFFSET + Long.BYTES;
    public static final int ENTRY_LENGTH = REGION_LENGTH;

    public static final int SLOTS_OFFSET = SUBSCRIBER_TABLE_OFFSET + SUBSCRIBER_TABLE_SIZE * ENTRY_LENGTH;
    public static final int SLOT_MESSAGE_OFFSET = 0;
    public static final int SLOT_LENGTH_OFFSET = SLOT_MESSAGE_OFFSET + Long.BYTES;
    public static final int SLOT_LENGTH = SLOT_LENGTH_OFFSET + Long.BYTES;

    /** The position word of a free entry, and of a taken entry whose subscriber has not yet set it. */
    public static final long JOINING = -1;

    public static final int MIN_CAPACITY = 2;
    public static final int MAX_CAPACITY = 1 << 20;

    /** How long a full ring waits before the publisher asks whether the subscribers holding it back still run. */
    public static final long LIVENESS_CHECK_NANOS = 1_000_000;

    static {
        if (SLOTS_OFFSET != 2432 || SLOTS_OFFSET % REGION_LENGTH != 0 || CLOSED_OFFSET + Long.BYTES > TAIL_OFFSET
                || FREED_OFFSET + Long.BYTES > SUBSCRIBER_TABLE_OFFSET || SLOT_LENGTH != 16) {
            throw new ExceptionInInitializerError("inconsistent fan-out layout: slots at " + SLOTS_OFFSET + ", slot length "
                    + SLOT_LENGTH);
        }
    }

    private FanoutDescriptor() {
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

    /** Offset of subscriber table entry {@code index}, relative to the channel block. */
    public static long entryOffset(int index) {
        return SUBSCRIBER_TABLE_OFFSET + (long) index * ENTRY_LENGTH;
    }
}
