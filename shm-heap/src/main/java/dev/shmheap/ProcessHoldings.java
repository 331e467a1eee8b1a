package dev.shmheap;

/**
 * The blocks one process-table slot's process holds: allocated (or taken over) and not yet
 * freed, shared or handed off. See {@link ShmHeap#share} for who holds a block.
 *
 * @param slot       the process-table slot
 * @param pid        the process id
 * @param startTicks low 32 bits of the process start time, which tells a reused pid apart
 * @param alive      whether that process still runs; blocks of a process that does not are
 *                   reclaimed in a heap created with {@link CreateOption#RECLAIM_DEAD}
 * @param blocks     live blocks it holds
 * @param bytes      their bytes (whole blocks: a slab block's class size, a buddy block's size)
 */
public record ProcessHoldings(int slot, int pid, long startTicks, boolean alive, long blocks, long bytes) {
}
