package dev.shmheap;

/**
 * One slab size class as seen by every process attached to the heap.
 *
 * @param blockSize   bytes per block (64, 128, ..., 4096)
 * @param sets        slab sets of 64 blocks the class holds
 * @param totalBlocks {@code sets * 64}
 * @param usedBlocks  blocks handed out and not yet freed
 * @param allocations blocks handed out since creation
 * @param frees       blocks freed since creation
 */
public record SizeClassStats(int blockSize, long sets, long totalBlocks, long usedBlocks, long allocations, long frees) {
    public long totalBytes() {
        return totalBlocks * blockSize;
    }

    public long usedBytes() {
        return usedBlocks * blockSize;
    }
}
