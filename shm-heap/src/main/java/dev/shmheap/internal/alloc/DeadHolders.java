package dev.shmheap.internal.alloc;

import dev.shmheap.ProcessHoldings;
import dev.shmheap.internal.holders.HolderCensus;
import dev.shmheap.internal.jfr.DeadProcessReclaimEvent;
import dev.shmheap.internal.jfr.HeapEvents;
import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.HolderMap;
import dev.shmheap.internal.process.ProcessTokens;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.memory.Counters;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.pagemap.PageMap;

import java.util.ArrayList;
import java.util.List;

/**
 * Settles the process-table slots of processes that no longer run: gives back the sets they
 * owned and the blocks their buddy caches held (with or without reclaim), then either frees
 * the blocks they hold (reclaim) or reports them, and frees each slot that holds nothing any
 * more. Runs online, while other processes allocate and free.
 *
 * <p>Reclaiming a block is "take it over, then free it": one byte CAS from the dead holder's
 * byte to this process's, then an ordinary {@code free}. The CAS decides between two
 * reclaimers (only one wins a block, so a block is never freed twice, however the two
 * interleave with a third process that reallocates it), and a reclaimer killed between the
 * CAS and the free leaves the block held by a process that no longer runs: the next settle
 * reclaims it. A block that is shared, handed off, unattributed or held by a live process is
 * never touched.
 *
 * <p>A slot is freed (its token CASed to 0) only after its sets were released and a census
 * found no live block naming it: a slot's number is its blocks' holder byte, so a slot freed
 * too early would hand its dead holder's blocks to the next process that registers. A dead
 * process's blocks cannot grow, so a census that finds none is final.
 */
public final class DeadHolders {
    /** What one settle did. */
    public record Outcome(int slotsFreed, long reclaimedBlocks, long reclaimedBytes, List<ProcessHoldings> kept) {
        public static final Outcome NONE = new Outcome(0, 0, 0, List.of());
    }

    private final MappedMemory memory;
    private final HeapLayout layout;
    private final PageMap pages;
    private final ProcessTable processTable;
    private final HeapAllocator allocator;
    private final int ownSlot;

    public DeadHolders(MappedMemory memory, HeapLayout layout, PageMap pages, ProcessTable processTable, HeapAllocator allocator, int ownSlot) {
        this.memory = memory;
        this.layout = layout;
        this.pages = pages;
        this.processTable = processTable;
        this.allocator = allocator;
        this.ownSlot = ownSlot;
    }

    /**
     * Settles every dead slot; with {@code reclaim} its blocks are freed. Without
     * {@code recount}, slots already marked kept (a census found their holdings before) are
     * left alone, so that an open does not walk the heap again for the same dead process.
     */
    public Outcome settle(boolean reclaim, boolean recount) {
        long[] deadTokens = new long[ProcessTable.SLOT_COUNT];
        boolean any = false;
        for (int slot = 0; slot < ProcessTable.SLOT_COUNT; slot++) {
            long token = slot == ownSlot ? 0 : processTable.tokenAt(slot);
            if (token != 0 && (reclaim || recount || !processTable.kept(slot, token)) && !ProcessTokens.isAlive(token)) {
                deadTokens[slot] = token;
                any = true;
            }
        }
        if (!any) {
            return Outcome.NONE;
        }
        DeadProcessReclaimEvent reclaimEvent = HeapEvents.beginReclaim();
        for (int slot = 0; slot < ProcessTable.SLOT_COUNT; slot++) {
            if (deadTokens[slot] != 0) {
                allocator.releaseSetsOf(slot);
            }
        }
        allocator.giveBackDeadCaches(deadTokens); // always: a cached block holds no user data
        long[] heldBlocks = new long[ProcessTable.SLOT_COUNT];
        long[] heldBytes = new long[ProcessTable.SLOT_COUNT];
        List<long[]> taken = new ArrayList<>();
        byte mine = HolderMap.ofSlot(ownSlot);
        HolderCensus.walk(memory, layout, pages, (offset, size, holderOffset, holder) -> {
            int slot = HolderMap.slotOf(holder);
            if (slot < 0 || deadTokens[slot] == 0) {
                return;
            }
            if (reclaim && memory.compareAndSetByte(holderOffset, holder, mine)) {
                taken.add(new long[] {offset, size});
            } else if (!reclaim) {
                heldBlocks[slot]++;
                heldBytes[slot] += size;
            }
        });
        long blocks = 0;
        long bytes = 0;
        for (long[] block : taken) {
            if (allocator.free(block[0]) == HeapAllocator.FREED) {
                blocks++;
                bytes += block[1];
            }
        }
        if (blocks != 0) {
            Counters.addAtomic(memory, HeaderDescriptor.RECLAIMED_BLOCKS_OFFSET, blocks);
            Counters.addAtomic(memory, HeaderDescriptor.RECLAIMED_BYTES_OFFSET, bytes);
        }
        HeapEvents.reclaimed(reclaimEvent, allocator.file(), deadTokens, ProcessTokens::pidOf, blocks, bytes);
        int freed = 0;
        List<ProcessHoldings> kept = new ArrayList<>();
        for (int slot = 0; slot < ProcessTable.SLOT_COUNT; slot++) {
            long token = deadTokens[slot];
            if (token == 0) {
                continue;
            }
            if (heldBlocks[slot] == 0) {
                freed += processTable.free(slot, token) ? 1 : 0;
            } else {
                processTable.markKept(slot, token);
                kept.add(new ProcessHoldings(slot, ProcessTokens.pidOf(token), token & 0xFFFF_FFFFL, false, heldBlocks[slot], heldBytes[slot]));
            }
        }
        return new Outcome(freed, blocks, bytes, kept);
    }
}
