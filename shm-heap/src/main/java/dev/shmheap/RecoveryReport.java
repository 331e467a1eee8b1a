package dev.shmheap;

import java.util.List;

/**
 * What {@link ShmHeap#recover()} (or {@link ShmHeap#reclaimDead()}) did.
 *
 * @param locksTakenOver        locks that dead processes held and that were taken over
 * @param deadProcessesRemoved  process-table entries of dead processes that were removed (those
 *                              that hold no block any more)
 * @param freeBlocksRelinked    free buddy blocks on the rebuilt free lists
 * @param reclaimedBlocks       blocks of dead processes freed (only with
 *                              {@link CreateOption#RECLAIM_DEAD}, or by {@code reclaimDead})
 * @param reclaimedBytes        their bytes
 * @param deadHoldings          dead processes that still hold blocks, which were kept: in a heap
 *                              without {@code RECLAIM_DEAD}, the user decides
 */
public record RecoveryReport(int locksTakenOver, int deadProcessesRemoved, long freeBlocksRelinked, long reclaimedBlocks,
                             long reclaimedBytes, List<ProcessHoldings> deadHoldings) {
    public RecoveryReport {
        deadHoldings = List.copyOf(deadHoldings);
    }
}
