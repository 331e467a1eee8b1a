package dev.shmheap.internal.layout;

/**
 * One page-map entry: 32 bytes describing one 4 KiB page of the data region. The page map is
 * the authoritative state of the data region; free lists and partial-set lists are caches
 * over it that can be rebuilt from it.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | kind  |   order   | class |S|0|  owner slot+1 |  reserved, 0  |  0  word 0
 *  +-------+-----------+-------+-+-+---------------+---------------+
 *  |                  link: page index + 1, 0 = none               |  4
 *  +---------------------------------------------------------------+
 *  |                  word 1 (64): meaning depends on kind         |  8
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                  word 2 (64): remote frees R (SLAB), else 0   | 16
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                  word 3 (64): owner's allocations (SLAB),     | 24
 *  |                  else 0                                       |
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <table>
 * <caption>kinds</caption>
 * <tr><th>kind</th><th>page is</th><th>link</th><th>word 1</th></tr>
 * <tr><td>0 NONE</td><td>inside a block whose head is an earlier page</td><td>0</td><td>0</td></tr>
 * <tr><td>1 FREE</td><td>head of a free buddy block of {@code order}</td><td>next on the order's free list</td><td>previous on it (page + 1)</td></tr>
 * <tr><td>2 USED</td><td>head of a buddy block handed to a user</td><td>0</td><td>allocating process token</td></tr>
 * <tr><td>3 SLAB</td><td>head of a slab set of {@code class}, order == class</td><td>next set on the class's partial list</td><td>occupancy: bit i set = block i used</td></tr>
 * <tr><td>4 SLAB_PAGE</td><td>a later page of a slab set of {@code class}</td><td>0</td><td>0</td></tr>
 * <tr><td>5 CACHED</td><td>head of a buddy block of {@code order} held in the buddy cache of the process in
 *     process-table slot {@code owner - 1} (see {@code BuddyCache})</td><td>0</td><td>stale, not read</td></tr>
 * </table>
 *
 * <p>S (bit 14) is the stripe of the class whose lists a slab set belongs to, on SLAB and
 * SLAB_PAGE entries; 0 on every other kind.
 *
 * <p>Owned sets (see {@code OwnedSets} and docs/FORMAT.md): on a SLAB head, bits 16..23 hold
 * the process-table slot + 1 of the process that owns the set (0 = unowned; every other kind
 * has 0 there). Word 2 is the set's remote-free word R: bit i = block i was freed by someone
 * other than the thread allocating from the set, not yet collected. Block i is live iff
 * {@code O_i = 1 and R_i = 0} (O = word 1); outside a collection in progress {@code R ⊆ O}.
 * Word 3 counts the owner's allocations from the set since it took it (0 while unowned).
 * On a CACHED head the owner field names the caching process (never 0); no other kind carries
 * an owner.
 *
 * <p>A block of order {@code k} covers pages {@code [p, p + 2^k)} with {@code p} a multiple
 * of {@code 2^k}. Only head entries are authoritative: a walk from page 0 that jumps
 * {@code 2^order} pages at each head visits exactly the blocks. Each change of a block's
 * state is committed by one aligned 64-bit store to its head's word 0 (after word 1 is
 * written), so a process killed between two stores leaves a walkable map.
 */
public final class PageMapEntry {
    public static final int LENGTH = 32;
    public static final int WORD0 = 0;
    public static final int WORD1 = 8;
    /** Remote-free word R of a SLAB head. */
    public static final int WORD2 = 16;
    /** Allocations the owner made from a SLAB head's set since it took it. */
    public static final int WORD3 = 24;
    /** The largest owner field: process-table slots 0..127. */
    public static final int MAX_OWNER = 128;

    public static final int NONE = 0;
    public static final int FREE = 1;
    public static final int USED = 2;
    public static final int SLAB = 3;
    public static final int SLAB_PAGE = 4;
    /** Head of a buddy block in one process's buddy cache: no user data, owner field set. */
    public static final int CACHED = 5;

    private static final int KIND_BITS = 4;
    private static final int ORDER_SHIFT = 4;
    private static final int ORDER_BITS = 6;
    private static final int CLASS_SHIFT = 10;
    private static final int CLASS_BITS = 4;
    private static final int STRIPE_SHIFT = 14;
    private static final int OWNER_SHIFT = 16;
    private static final long OWNER_MASK = 0xFFL << OWNER_SHIFT;
    private static final int LINK_SHIFT = 32;
    private static final long RESERVED_MASK = 0xFF00_8000L;

    private PageMapEntry() {
    }

    public static int kind(long word0) {
        return (int) (word0 & ((1 << KIND_BITS) - 1));
    }

    public static int order(long word0) {
        return (int) ((word0 >>> ORDER_SHIFT) & ((1 << ORDER_BITS) - 1));
    }

    public static int sizeClass(long word0) {
        return (int) ((word0 >>> CLASS_SHIFT) & ((1 << CLASS_BITS) - 1));
    }

    /** The class stripe of a slab set's entry (SLAB or SLAB_PAGE). */
    public static int stripe(long word0) {
        return (int) (word0 >>> STRIPE_SHIFT) & 1;
    }

    /** The owner field of a SLAB head: process-table slot + 1, or 0 when unowned. */
    public static int owner(long word0) {
        return (int) ((word0 & OWNER_MASK) >>> OWNER_SHIFT);
    }

    public static long withOwner(long word0, int owner) {
        return (word0 & ~OWNER_MASK) | ((long) owner << OWNER_SHIFT);
    }

    /** The head word of a block of {@code order} in the buddy cache of owner field {@code owner}. */
    public static long cachedWord0(int order, int owner) {
        return withOwner(word0(CACHED, order, 0, 0), owner);
    }

    /** A SLAB or SLAB_PAGE entry of class {@code sizeClass}, stripe {@code stripe}. */
    public static long slabWord0(int kind, int sizeClass, int stripe, long link) {
        return word0(kind, SizeClasses.setOrder(sizeClass), sizeClass, link) | ((long) stripe << STRIPE_SHIFT);
    }

    /** The linked page index + 1, or 0 for none. */
    public static long link(long word0) {
        return word0 >>> LINK_SHIFT;
    }

    public static boolean reservedBitsClear(long word0) {
        return (word0 & RESERVED_MASK) == 0;
    }

    public static long word0(int kind, int order, int sizeClass, long link) {
        return kind | ((long) order << ORDER_SHIFT) | ((long) sizeClass << CLASS_SHIFT) | (link << LINK_SHIFT);
    }

    public static long withLink(long word0, long link) {
        return (word0 & 0xFFFF_FFFFL) | (link << LINK_SHIFT);
    }

    public static String kindName(int kind) {
        return switch (kind) {
            case NONE -> "NONE";
            case FREE -> "FREE";
            case USED -> "USED";
            case SLAB -> "SLAB";
            case SLAB_PAGE -> "SLAB_PAGE";
            case CACHED -> "CACHED";
            default -> "INVALID(" + kind + ")";
        };
    }

    public static String toString(long word0) {
        return kindName(kind(word0)) + "{order=" + order(word0) + ", class=" + sizeClass(word0) + ", stripe=" + stripe(word0)
                + ", owner=" + owner(word0) + ", link=" + link(word0) + "}";
    }
}
