package dev.shmheap;

import java.util.List;

/**
 * Heap-wide statistics, read from counters in the shared file, so every process sees the same
 * figures. Read without locks: while other processes allocate, the figures of different
 * classes may be from slightly different moments.
 *
 * <ul>
 *   <li>{@code totalBytes} = slab capacity + buddy total = the data region's capacity;</li>
 *   <li>{@code usedBytes} = used slab blocks x block size + bytes of buddy blocks handed to
 *       users (whole power-of-two blocks);</li>
 *   <li>{@code cachedBytes} = bytes in freed buddy blocks that attached processes keep in
 *       their buddy caches (8 KiB..256 KiB blocks, bounded per process; given back on
 *       {@code trim()}, {@code close()}, a request that would fail, and a process's death);</li>
 *   <li>{@code availableBytes} = total - used - cached (free slab blocks count as available).</li>
 * </ul>
 *
 * @param totalBytes         capacity of the data region
 * @param usedBytes          bytes in blocks handed out
 * @param availableBytes     {@code totalBytes - usedBytes - cachedBytes}
 * @param buddyFreeBytes     bytes in free buddy blocks (not in slab sets)
 * @param buddyUsedBytes     bytes in buddy blocks handed to users directly
 * @param largestFreeBlock   size of the largest free buddy block, 0 when none
 * @param freeBlocksPerOrder free buddy blocks of {@code 4 KiB << i} bytes at index i
 * @param buddyAllocations   buddy blocks handed out since creation (users and slab sets),
 *                           including those the buddy caches handed out again
 * @param buddyFrees         buddy blocks freed since creation, including frees into a buddy cache
 *                           (a cached block given back to the buddy is not a second free)
 * @param sizeClasses        the slab classes, smallest first
 * @param attachedProcesses  heap instances registered in the process table (live or not)
 * @param holdings           who holds the live blocks: per process, shared, handed off (one
 *                           walk of the page map; see {@link Holdings})
 * @param lockTakeovers      locks taken over from dead holders since creation
 * @param reclaimedBlocks    blocks of dead processes reclaimed since creation
 * @param reclaimedBytes     their bytes
 * @param processQuota       the per-process quota in bytes, 0 when none
 * @param cachedBytes        bytes in the buddy caches of attached processes (neither used nor free)
 */
public record HeapStats(long totalBytes, long usedBytes, long availableBytes, long buddyFreeBytes, long buddyUsedBytes,
                        long largestFreeBlock, long[] freeBlocksPerOrder, long buddyAllocations, long buddyFrees,
                        List<SizeClassStats> sizeClasses, int attachedProcesses, Holdings holdings, long lockTakeovers,
                        long reclaimedBlocks, long reclaimedBytes, long processQuota, long cachedBytes) {
    public HeapStats {
        freeBlocksPerOrder = freeBlocksPerOrder.clone();
        sizeClasses = List.copyOf(sizeClasses);
    }

    @Override
    public long[] freeBlocksPerOrder() {
        return freeBlocksPerOrder.clone();
    }

    /** The class of blocks of {@code blockSize} bytes. */
    public SizeClassStats sizeClass(int blockSize) {
        for (SizeClassStats s : sizeClasses) {
            if (s.blockSize() == blockSize) {
                return s;
            }
        }
        throw new IllegalArgumentException("no size class of " + blockSize + " bytes; classes are 64, 128, ..., 4096");
    }

    /** 1 - largest free block / free buddy bytes: 0 when the free space is one block. */
    public double fragmentation() {
        return buddyFreeBytes == 0 ? 0 : 1.0 - (double) largestFreeBlock / buddyFreeBytes;
    }

    @Override
    public String toString() {
        return "HeapStats{total=" + totalBytes + ", used=" + usedBytes + ", available=" + availableBytes + ", buddyFree=" + buddyFreeBytes
                + ", largestFree=" + largestFreeBlock + ", classes=" + sizeClasses + ", processes=" + attachedProcesses + ", holdings=" + holdings
                + ", lockTakeovers=" + lockTakeovers + ", reclaimedBlocks=" + reclaimedBlocks + ", reclaimedBytes=" + reclaimedBytes
                + ", processQuota=" + processQuota + ", cached=" + cachedBytes + "}";
    }
}
