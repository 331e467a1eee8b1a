package dev.shmheap.internal.stats;

import dev.shmheap.BlockInfo;
import dev.shmheap.HeapStats;
import dev.shmheap.SizeClassStats;
import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.pagemap.PageMap;
import dev.shmheap.internal.pagemap.PageMapWalker;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static dev.shmheap.internal.layout.HeaderDescriptor.*;

/**
 * Reads the heap's figures and blocks without taking a lock: each counter is one volatile
 * read, so a figure is exact when no operation is in flight and off by at most the operations
 * in flight otherwise. Only the header counters and the page map are read, never written.
 */
public final class HeapFigures {
    private final MappedMemory memory;
    private final HeapLayout layout;
    private final PageMap pages;

    public HeapFigures(MappedMemory memory, HeapLayout layout, PageMap pages) {
        this.memory = memory;
        this.layout = layout;
        this.pages = pages;
    }

    /**
     * {@code totalBytes} = capacity; {@code usedBytes} = used slab blocks x block size + bytes
     * of buddy blocks handed to users; {@code availableBytes} = total - used.
     */
    public HeapStats stats(int attachedProcesses) {
        List<SizeClassStats> classes = new ArrayList<>(SizeClasses.COUNT);
        long slabUsed = 0;
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            long sets = sumOverStripes(c, CLASS_SET_COUNT);
            long used = sumOverStripes(c, CLASS_USED_BLOCKS);
            classes.add(new SizeClassStats(SizeClasses.blockSize(c), sets, sets * SizeClasses.SET_SIZE, used,
                    sumOverStripes(c, CLASS_ALLOCATIONS), sumOverStripes(c, CLASS_FREES)));
            slabUsed += used * SizeClasses.blockSize(c);
        }
        long buddyFree = memory.getLongVolatile(BUDDY_FREE_BYTES_OFFSET);
        long setBytes = memory.getLongVolatile(BUDDY_SET_BYTES_OFFSET);
        long buddyUsed = memory.getLongVolatile(BUDDY_ALLOCATED_BYTES_OFFSET) - setBytes;
        long[] freeBlocks = new long[layout.maxOrder() + 1];
        for (int order = 0; order < freeBlocks.length; order++) {
            freeBlocks[order] = memory.getLongVolatile(freeCountOffset(order));
        }
        long used = slabUsed + buddyUsed;
        return new HeapStats(layout.capacity(), used, layout.capacity() - used, buddyFree, buddyUsed, largestListedBlock(), freeBlocks,
                memory.getLongVolatile(BUDDY_ALLOCATIONS_OFFSET), memory.getLongVolatile(BUDDY_FREES_OFFSET), classes,
                attachedProcesses);
    }

    private long sumOverStripes(int c, int field) {
        long sum = 0;
        for (int s = 0; s < layout.classStripes(); s++) {
            sum += memory.getLongVolatile(classOffset(c, s, field));
        }
        return sum;
    }

    /** The largest block on a free list (merging is deferred, so a request may still get a larger one). */
    public long largestListedBlock() {
        for (int order = layout.maxOrder(); order >= 0; order--) {
            if (memory.getLongVolatile(freeListHeadOffset(order)) != 0) {
                return BuddyAllocator.blockBytes(order);
            }
        }
        return 0;
    }

    /** Visits every block in address order; parts of the map it cannot read as blocks are skipped. */
    public void forEachBlock(Consumer<BlockInfo> visitor) {
        PageMapWalker.walk(pages, layout, (page, word0, word1) -> {
            long offset = layout.pageOffset(page);
            long length = BuddyAllocator.blockBytes(PageMapEntry.order(word0));
            visitor.accept(switch (PageMapEntry.kind(word0)) {
                case PageMapEntry.FREE -> new BlockInfo(offset, length, BlockInfo.Kind.FREE, 0, 0);
                case PageMapEntry.USED -> new BlockInfo(offset, length, BlockInfo.Kind.USED, 0, 0);
                default -> new BlockInfo(offset, length, BlockInfo.Kind.SLAB_SET, SizeClasses.blockSize(PageMapEntry.sizeClass(word0)),
                        Long.bitCount(word1));
            });
            return true;
        }, problem -> { });
    }
}
