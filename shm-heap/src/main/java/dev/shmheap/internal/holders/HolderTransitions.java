package dev.shmheap.internal.holders;

import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.HolderMap;
import dev.shmheap.internal.process.ProcessTokens;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.pagemap.PageMap;

/**
 * The changes of a live block's holder byte (see {@link HolderMap}) that users ask for: share,
 * hand off, take over. Each is one byte CAS, retried while the byte changes under it, so two
 * transitions of one block never both win, and a reclaimer (which CASes a dead holder's byte
 * to its own) and a user transition cannot both act on the same old holder.
 *
 * <pre>
 *   allocate           free/unknown     -&gt; this process
 *   share              any but shared   -&gt; SHARED     (never reclaimed, until freed)
 *   hand off           any but shared   -&gt; HANDED_OFF (never reclaimed, until taken over)
 *   take over          HANDED_OFF, a dead process, unattributed, this process -&gt; this process
 *   reclaim (settle)   a dead process   -&gt; the reclaimer, then freed
 * </pre>
 *
 * Moving a block away from a process only ever makes it less likely to be reclaimed, so share
 * and hand-off accept a block whoever holds it. Taking over moves it towards reclamation, so it
 * refuses a shared block (its name or other users rely on it) and one a live process holds.
 */
public final class HolderTransitions {
    /** What {@link #takeOver} and {@link #shareOrHandOff} found before they changed the byte. */
    public static final int NOT_LIVE = -1;

    private final MappedMemory memory;
    private final HeapLayout layout;
    private final PageMap pages;
    private final ProcessTable processTable;
    private final byte mine;

    public HolderTransitions(MappedMemory memory, HeapLayout layout, PageMap pages, ProcessTable processTable,
                             byte mine) {
        this.memory = memory;
        this.layout = layout;
        this.pages = pages;
        this.processTable = processTable;
        this.mine = mine;
    }

    /** The holder byte (0..255) of the live block at {@code offset}; {@link #NOT_LIVE} when none starts there. */
    public int holderOf(long offset) {
        long at = pages.liveBlockHolder(offset);
        return at < 0 ? NOT_LIVE : memory.getByte(at) & 0xFF;
    }

    /**
     * Sets the holder of the live block at {@code offset} to {@code target} (SHARED or
     * HANDED_OFF); returns the holder byte (0..255) it replaced, or {@link #NOT_LIVE}.
     *
     * @throws IllegalStateException when a shared block would be handed off
     */
    public int shareOrHandOff(long offset, byte target, String file) {
        long at = pages.liveBlockHolder(offset);
        if (at < 0) {
            return NOT_LIVE;
        }
        while (true) {
            byte current = memory.getByte(at);
            if (current == target) {
                return current & 0xFF;
            }
            if (current == HolderMap.SHARED) {
                throw new IllegalStateException("block at offset " + offset + " of heap " + file
                        + " is shared: it belongs to the heap and cannot be handed off");
            }
            if (memory.compareAndSetByte(at, current, target)) {
                return current & 0xFF;
            }
        }
    }

    /**
     * Makes this process the holder of the live block at {@code offset}; returns the holder
     * byte (0..255) it replaced, or {@link #NOT_LIVE}.
     *
     * @throws IllegalStateException when the block is shared or a live process holds it
     */
    public int takeOver(long offset, String file) {
        long at = pages.liveBlockHolder(offset);
        if (at < 0) {
            return NOT_LIVE;
        }
        while (true) {
            byte current = memory.getByte(at);
            if (current == mine) {
                return current & 0xFF;
            }
            if (current == HolderMap.SHARED) {
                throw new IllegalStateException("block at offset " + offset + " of heap " + file
                        + " is shared: it belongs to the heap and cannot be taken over");
            }
            int slot = HolderMap.slotOf(current);
            if (slot >= 0) {
                long token = processTable.tokenAt(slot);
                if (token != 0 && ProcessTokens.isAlive(token)) {
                    throw new IllegalStateException("block at offset " + offset + " of heap " + file + " is held by "
                            + ProcessTokens.describe(token) + "; it must hand it off (ShmHeap.handOff) before another process takes it over");
                }
            }
            if (memory.compareAndSetByte(at, current, mine)) {
                return current & 0xFF;
            }
        }
    }

    /**
     * Shares every live block this attachment holds (one census walk, a byte CAS each);
     * returns how many. {@code close()} calls it: an attachment that detaches cleanly leaves its
     * blocks to the heap, so that its slot can be freed.
     */
    public long shareAllOfMine() {
        long[] shared = {0};
        HolderCensus.walk(memory, layout, pages, (offset, size, holderOffset, holder) -> {
            if (holder == mine && memory.compareAndSetByte(holderOffset, mine, HolderMap.SHARED)) {
                shared[0]++;
            }
        });
        return shared[0];
    }
}
