package dev.shmheap.internal.layout;

/**
 * Field offsets of the heap header, the first page of every heap file. All multi-byte fields
 * are little-endian (the byte order of the x86-64 and AArch64 hosts the heap runs on).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                     Magic "SHMHEAP1" (64)                     |   0
 *  +---------------------------------------------------------------+
 *  |                     Format version (32)                       |   8
 *  |                     Header length (32)                        |  12
 *  |                     Page size (32)                            |  16
 *  |                     Page-map entry length (32)                |  20
 *  |                     Slab set size, blocks (32)                |  24
 *  |                     Size-class count (32)                     |  28
 *  |                     Smallest class, bytes (32)                |  32
 *  |                     Buddy order count (32)                    |  36
 *  |                     Extent size, bytes (64)                   |  40
 *  |                     Capacity, data bytes (64)                 |  48
 *  |                     File length (64)                          |  56
 *  |                     Process table offset (64)                 |  64
 *  |                     Name directory offset (64)                |  72
 *  |                     Extent map offset (64)                    |  80
 *  |                     Page map offset (64)                      |  88
 *  |                     Data region offset (64)                   |  96
 *  |       Flags (64): bit 0 SPARSE, bit 1 RECLAIM_DEAD            | 104
 *  |                     Creator token (64)                        | 112
 *  |                     Creation time, epoch ms (64)              | 120
 *  |                     Creator's pid namespace inode (64)        | 128
 *  |                     CRC32C of bytes 0..135 (64)               | 136
 *  +---------------------------------------------------------------+
 *  |                     reserved, zero                            | 144..255
 *  +---------------------------------------------------------------+
 *  |       Buddy lock word (64), alone on 128 bytes                | 256
 *  +---------------------------------------------------------------+
 *  |       Buddy state: free bytes, allocated bytes, allocations,  | 384
 *  |       frees, slab-set bytes, mergeable pairs (64 each), on    |
 *  |       128 bytes                                               |
 *  +---------------------------------------------------------------+
 *  |       Free-list heads, one per order 0..31 (64 each)          | 512..767
 *  +---------------------------------------------------------------+
 *  |  per size class c = 0..6 and stripe s = 0..1, 128 bytes from   |
 *  |  768 + 256 c + 128 s:                                         |
 *  |       stripe lock word (64), alone on its 64-byte line        |
 *  |       partial-set head, set count, used blocks, allocations,  |
 *  |       frees (64 each), on the next 64-byte line               |
 *  +---------------------------------------------------------------+
 *  |       Free-block count per order 0..31 (64 each)              | 2560..2815
 *  +---------------------------------------------------------------+
 *  |       Name-directory lock word (64), alone on 128 bytes       | 2816
 *  +---------------------------------------------------------------+
 *  |       Lifetime counters (64 each): lock takeovers, reclaimed   | 2944
 *  |       blocks, reclaimed bytes; per-process quota, bytes       |
 *  |       (0 = none), quota generation, buddy-cache allocations   |
 *  |       and frees of closed or dead processes, on 128 bytes    |
 *  +---------------------------------------------------------------+
 *  |                     reserved, zero                            | 3072..4095
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Bytes 0..135 never change after creation and are covered by the checksum at 136, so a
 * corrupt layout field is caught at {@code open} instead of steering offsets astray.
 * No two lock words share a 128-byte block (two cache lines, so adjacent-line prefetch cannot
 * make two locks share); the only other data in a lock's block is the state that lock
 * protects, on the line after the lock word: only the lock holder writes it, so waiters
 * spinning on the lock line do not slow its updates.
 *
 * <p>Each size class is split into {@link #CLASS_STRIPES} stripes, each with its own lock,
 * partial-set list and counters; a set belongs to one stripe (its page-map entries say which).
 * A process allocates from the stripe of its process-table slot parity and frees into the
 * stripe of the block's set, so two processes allocating the same size do not contend for
 * one lock and one list head; one that frees another's blocks meets it on that stripe only.
 * Free-list heads and links hold {@code page index + 1}; 0 means "none".
 */
public final class HeaderDescriptor {
    /** ASCII "SHMHEAP1" read as a little-endian long. */
    public static final long MAGIC = 0x3150414548_4D4853L;
    public static final int FORMAT_VERSION = 5;
    public static final int HEADER_LENGTH = 4096;
    public static final int CACHE_LINE_PAIR = 128;

    public static final int MAGIC_OFFSET = 0;
    public static final int FORMAT_VERSION_OFFSET = 8;
    public static final int HEADER_LENGTH_OFFSET = 12;
    public static final int PAGE_SIZE_OFFSET = 16;
    public static final int PAGE_MAP_ENTRY_LENGTH_OFFSET = 20;
    public static final int SET_SIZE_OFFSET = 24;
    public static final int CLASS_COUNT_OFFSET = 28;
    public static final int MIN_CLASS_SIZE_OFFSET = 32;
    public static final int ORDER_COUNT_OFFSET = 36;
    public static final int EXTENT_SIZE_OFFSET = 40;
    public static final int CAPACITY_OFFSET = 48;
    public static final int FILE_LENGTH_OFFSET = 56;
    public static final int PROCESS_TABLE_OFFSET_OFFSET = 64;
    public static final int NAME_DIRECTORY_OFFSET_OFFSET = 72;
    public static final int EXTENT_MAP_OFFSET_OFFSET = 80;
    public static final int PAGE_MAP_OFFSET_OFFSET = 88;
    public static final int DATA_OFFSET_OFFSET = 96;
    public static final int FLAGS_OFFSET = 104;
    public static final int CREATOR_OFFSET = 112;
    public static final int CREATED_MILLIS_OFFSET = 120;
    /** Process tokens name pids of this namespace; other namespaces must not open the heap. */
    public static final int PID_NAMESPACE_OFFSET = 128;
    /** Length of the immutable part that the checksum covers. */
    public static final int IMMUTABLE_LENGTH = 136;
    public static final int CHECKSUM_OFFSET = IMMUTABLE_LENGTH;

    public static final long FLAG_SPARSE = 1L;
    /** Blocks held by processes that no longer run are freed (recover, open, before heap full). */
    public static final long FLAG_RECLAIM_DEAD = 2L;
    public static final long KNOWN_FLAGS = FLAG_SPARSE | FLAG_RECLAIM_DEAD;

    public static final int BUDDY_LOCK_OFFSET = 256;
    public static final int BUDDY_STATE_OFFSET = BUDDY_LOCK_OFFSET + CACHE_LINE_PAIR;
    public static final int BUDDY_FREE_BYTES_OFFSET = BUDDY_STATE_OFFSET;
    public static final int BUDDY_ALLOCATED_BYTES_OFFSET = BUDDY_STATE_OFFSET + 8;
    public static final int BUDDY_ALLOCATIONS_OFFSET = BUDDY_STATE_OFFSET + 16;
    public static final int BUDDY_FREES_OFFSET = BUDDY_STATE_OFFSET + 24;
    /** Bytes of the allocated blocks that are slab sets (so user bytes = allocated - set bytes). */
    public static final int BUDDY_SET_BYTES_OFFSET = BUDDY_STATE_OFFSET + 32;
    /**
     * Pairs of FREE buddies of one order left unmerged: frees defer merging, and a request
     * that finds no block large enough merges them all when this is not zero (format 3).
     */
    public static final int BUDDY_MERGEABLE_PAIRS_OFFSET = BUDDY_STATE_OFFSET + 40;
    /** Bytes of buddy state words from {@link #BUDDY_STATE_OFFSET}. */
    public static final int BUDDY_STATE_LENGTH = 48;
    public static final int FREE_LIST_HEADS_OFFSET = BUDDY_STATE_OFFSET + CACHE_LINE_PAIR;
    public static final int ORDER_COUNT = 32;

    public static final int CLASS_BLOCKS_OFFSET = FREE_LIST_HEADS_OFFSET + ORDER_COUNT * 8;
    public static final int CLASS_STRIPES = 2;
    public static final int STRIPE_BLOCK_LENGTH = CACHE_LINE_PAIR;
    public static final int CLASS_BLOCK_LENGTH = CLASS_STRIPES * STRIPE_BLOCK_LENGTH;
    /** Relative to a stripe's block. */
    public static final int CLASS_LOCK = 0;
    public static final int CLASS_PARTIAL_HEAD = CACHE_LINE_PAIR / 2;
    public static final int CLASS_SET_COUNT = CLASS_PARTIAL_HEAD + 8;
    public static final int CLASS_USED_BLOCKS = CLASS_PARTIAL_HEAD + 16;
    public static final int CLASS_ALLOCATIONS = CLASS_PARTIAL_HEAD + 24;
    public static final int CLASS_FREES = CLASS_PARTIAL_HEAD + 32;

    /** Number of blocks on each order's free list, under the buddy lock. */
    public static final int FREE_COUNTS_OFFSET = CLASS_BLOCKS_OFFSET + SizeClasses.COUNT * CLASS_BLOCK_LENGTH;

    /** Lock of the name directory, alone on 128 bytes. */
    public static final int NAME_DIRECTORY_LOCK_OFFSET = FREE_COUNTS_OFFSET + ORDER_COUNT * 8;

    /**
     * Lifetime counters, added to with a CAS (no single lock guards them) and never reset:
     * locks taken over from dead holders, blocks and bytes reclaimed from dead holders. Then
     * the per-process quota (0 = none), which any process may set.
     */
    public static final int LIFETIME_OFFSET = NAME_DIRECTORY_LOCK_OFFSET + CACHE_LINE_PAIR;
    public static final int LOCK_TAKEOVERS_OFFSET = LIFETIME_OFFSET;
    public static final int RECLAIMED_BLOCKS_OFFSET = LIFETIME_OFFSET + 8;
    public static final int RECLAIMED_BYTES_OFFSET = LIFETIME_OFFSET + 16;
    public static final int PROCESS_QUOTA_OFFSET = LIFETIME_OFFSET + 24;
    /** Bumped before every change of the quota, so that attachments reseed their estimates. */
    public static final int QUOTA_GENERATION_OFFSET = LIFETIME_OFFSET + 32;
    /**
     * Allocations that buddy caches served, of processes whose slots were settled or closed
     * since (each live slot counts its own in the process table); atomic adds.
     */
    public static final int CACHE_ALLOCATIONS_OFFSET = LIFETIME_OFFSET + 40;
    /** Frees buddy caches took, less the blocks they gave back, of settled or closed slots; atomic adds. */
    public static final int CACHE_FREES_OFFSET = LIFETIME_OFFSET + 48;

    public static final int HEADER_USED_LENGTH = LIFETIME_OFFSET + CACHE_LINE_PAIR;

    static {
        if (HEADER_USED_LENGTH > HEADER_LENGTH) {
            throw new ExceptionInInitializerError("header fields need " + HEADER_USED_LENGTH + " bytes, header has " + HEADER_LENGTH);
        }
        if (CHECKSUM_OFFSET + 8 > BUDDY_LOCK_OFFSET) {
            throw new ExceptionInInitializerError("checksum overlaps the buddy lock line");
        }
    }

    private HeaderDescriptor() {
    }

    public static int freeListHeadOffset(int order) {
        return FREE_LIST_HEADS_OFFSET + order * 8;
    }

    public static int freeCountOffset(int order) {
        return FREE_COUNTS_OFFSET + order * 8;
    }

    /** The offset of {@code field} (CLASS_*) of stripe {@code stripe} of class {@code sizeClass}. */
    public static int classOffset(int sizeClass, int stripe, int field) {
        return CLASS_BLOCKS_OFFSET + sizeClass * CLASS_BLOCK_LENGTH + stripe * STRIPE_BLOCK_LENGTH + field;
    }

    /** A short name of the header field that holds {@code offset}, for diagnostics. */
    public static String fieldAt(long offset) {
        if (offset < CHECKSUM_OFFSET) {
            return "immutable header field";
        }
        if (offset < CHECKSUM_OFFSET + 8) {
            return "header checksum";
        }
        if (offset >= BUDDY_LOCK_OFFSET && offset < BUDDY_LOCK_OFFSET + 8) {
            return "buddy lock";
        }
        if (offset >= BUDDY_STATE_OFFSET && offset < BUDDY_STATE_OFFSET + BUDDY_STATE_LENGTH) {
            return "buddy counter";
        }
        if (offset >= FREE_LIST_HEADS_OFFSET && offset < CLASS_BLOCKS_OFFSET) {
            return "free-list head of order " + (offset - FREE_LIST_HEADS_OFFSET) / 8;
        }
        if (offset >= CLASS_BLOCKS_OFFSET && offset < FREE_COUNTS_OFFSET) {
            long c = (offset - CLASS_BLOCKS_OFFSET) / CLASS_BLOCK_LENGTH;
            long stripe = (offset - CLASS_BLOCKS_OFFSET) % CLASS_BLOCK_LENGTH / STRIPE_BLOCK_LENGTH;
            long field = (offset - CLASS_BLOCKS_OFFSET) % STRIPE_BLOCK_LENGTH;
            if (field < 8) {
                return "lock of class " + SizeClasses.blockSize((int) c) + " stripe " + stripe;
            }
            if (field >= CLASS_PARTIAL_HEAD && field < CLASS_FREES + 8) {
                return "state of class " + SizeClasses.blockSize((int) c) + " stripe " + stripe;
            }
        }
        if (offset >= NAME_DIRECTORY_LOCK_OFFSET && offset < NAME_DIRECTORY_LOCK_OFFSET + 8) {
            return "name-directory lock";
        }
        if (offset >= LOCK_TAKEOVERS_OFFSET && offset < PROCESS_QUOTA_OFFSET) {
            return "lifetime counter";
        }
        if (offset >= PROCESS_QUOTA_OFFSET && offset < QUOTA_GENERATION_OFFSET + 8) {
            return "per-process quota";
        }
        if (offset >= FREE_COUNTS_OFFSET && offset < NAME_DIRECTORY_LOCK_OFFSET) {
            return "free-block count of order " + (offset - FREE_COUNTS_OFFSET) / 8;
        }
        return "padding";
    }
}
