package dev.shmheap;

/**
 * What {@link ShmHeap#recover()} did.
 *
 * @param locksTakenOver        locks that dead processes held and that were taken over
 * @param deadProcessesRemoved  process-table entries of dead processes that were removed
 * @param freeBlocksRelinked    free buddy blocks on the rebuilt free lists
 */
public record RecoveryReport(int locksTakenOver, int deadProcessesRemoved, long freeBlocksRelinked) {
}
