package dev.shmheap;

/**
 * One block of the data region as {@link ShmHeap#forEachBlock} reports it.
 *
 * @param offset         file offset of the block
 * @param length         bytes (a power of two, at least 4096)
 * @param kind           what the block is used for
 * @param slabBlockSize  for a slab set, the size of its blocks (64..4096), else 0
 * @param slabUsedBlocks for a slab set, how many of its 64 blocks are in use, else 0
 */
public record BlockInfo(long offset, long length, Kind kind, int slabBlockSize, int slabUsedBlocks) {
    public enum Kind {
        /** A free buddy block. */
        FREE,
        /** A buddy block handed to a user. */
        USED,
        /** A buddy block carved into a slab set of 64 blocks. */
        SLAB_SET,
        /** A freed buddy block kept in one process's buddy cache, to be handed out again by that process. */
        CACHED
    }
}
