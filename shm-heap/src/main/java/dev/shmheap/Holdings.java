package dev.shmheap;

import java.util.List;

/**
 * Who holds the heap's live blocks, from one walk of the page map and holder map taken without
 * locks (while other processes allocate, a snapshot). Every live block is counted once:
 * {@code sum of processes' bytes + sharedBytes + handedOffBytes + unattributedBytes} is the
 * heap's used bytes at the moment of the walk.
 *
 * @param processes         per process-table slot that holds blocks or is occupied, live or dead
 * @param sharedBlocks      blocks given to the heap with {@link ShmHeap#share} or {@link ShmHeap#bind}
 * @param sharedBytes       their bytes
 * @param handedOffBlocks   blocks handed off ({@link ShmHeap#handOff}) and not yet taken over
 * @param handedOffBytes    their bytes
 * @param unattributedBlocks live blocks whose holder record names no holder (verify reports them)
 * @param unattributedBytes their bytes
 */
public record Holdings(List<ProcessHoldings> processes, long sharedBlocks, long sharedBytes, long handedOffBlocks,
                       long handedOffBytes, long unattributedBlocks, long unattributedBytes) {
    public Holdings {
        processes = List.copyOf(processes);
    }

    /** The holdings of processes that no longer run. */
    public List<ProcessHoldings> dead() {
        return processes.stream().filter(p -> !p.alive() && p.blocks() > 0).toList();
    }

    /** Bytes held by processes that no longer run. */
    public long deadBytes() {
        return dead().stream().mapToLong(ProcessHoldings::bytes).sum();
    }
}
