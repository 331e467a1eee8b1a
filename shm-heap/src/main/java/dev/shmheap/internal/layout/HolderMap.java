package dev.shmheap.internal.layout;

/**
 * The holder map: who holds each live block. One 64-byte line per data page, right after the
 * page map; the line of page {@code p} describes the blocks whose set or block head is
 * {@code p}: byte {@code i} is the holder of block {@code i} of the slab set headed at
 * {@code p}, byte 0 the holder of a buddy block headed at {@code p}.
 *
 * <pre>
 *   0       1       2       3       4              63
 *  +-------+-------+-------+-------+-- ... --+-------+
 *  | h(0)  | h(1)  | h(2)  | h(3)  |         | h(63) |   holder line of head page p
 *  +-------+-------+-------+-------+-- ... --+-------+   at holder map offset + 64 p
 *
 *   h = 0          unattributed (never written; verify reports it on a live block)
 *   h = 1..128     held by the process in process-table slot h - 1
 *   h = 0xFE       handed off: in a channel, waiting for a receiver to take it over
 *   h = 0xFF       shared: belongs to the heap; only an explicit free ends it
 * </pre>
 *
 * <p>A holder byte means something only while its block is live (page map: a USED head, or
 * the block's bit in {@code O & ~R} of its set); a free block's byte is stale and ignored.
 * Every allocation stores the allocating process's holder byte <em>before</em> the store that
 * commits the block (ordered), so a process killed between the two leaves a free block with a
 * new byte, never a live block with a stale one. Transitions of a live block's byte (share,
 * hand-off, take-over) are a byte CAS, so two of them cannot both win.
 *
 * <p>Which blocks are reclaimed: only those whose byte names a process-table slot whose
 * process no longer runs. Shared and handed-off blocks are never reclaimed; neither is an
 * unattributed one ("if in doubt, keep it").
 */
public final class HolderMap {
    public static final int LINE = 64;
    public static final byte UNATTRIBUTED = 0;
    public static final byte HANDED_OFF = (byte) 0xFE;
    public static final byte SHARED = (byte) 0xFF;

    private HolderMap() {
    }

    /** The holder byte of process-table slot {@code slot}. */
    public static byte ofSlot(int slot) {
        return (byte) (slot + 1);
    }

    /** The process-table slot a holder byte names, or -1 when it names none. */
    public static int slotOf(byte holder) {
        int h = holder & 0xFF;
        return h >= 1 && h <= PageMapEntry.MAX_OWNER ? h - 1 : -1;
    }

    public static String describe(byte holder) {
        return switch (holder) {
            case UNATTRIBUTED -> "nobody (unattributed)";
            case HANDED_OFF -> "nobody: handed off, waiting to be taken over";
            case SHARED -> "the heap (shared)";
            default -> slotOf(holder) >= 0 ? "process-table slot " + slotOf(holder) : "invalid holder byte 0x" + Integer.toHexString(holder & 0xFF);
        };
    }
}
