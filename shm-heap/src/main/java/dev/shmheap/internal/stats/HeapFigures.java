package dev.shmheap.internal.stats;

import dev.shmheap.BlockInfo;
import dev.shmheap.HeapStats;
import dev.shmheap.Holdings;
import dev.shmheap.ProcessHoldings;
import dev.shmheap.internal.holders.HolderCensus;
import dev.shmheap.internal.layout.HolderMap;
import dev.shmheap.internal.process.ProcessTokens;
import dev.shmheap.SizeClassStats;
import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.slab.OwnedSet;
import dev.shmheap.internal.slab.OwnerRegistry;
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
 *
 * <p>The class counters count unowned sets only; the owned sets are found through the
 * owned-set registry of every occupied process-table slot, each entry checked against its
 * set's owner field, and add: used += popcount(O &amp; ~R), allocations += A,
 * frees += A - popcount(O &amp; ~R) (see {@code SlabAllocator} for why that keeps
 * allocations - frees == used).
 */
public final class HeapFigures {
    private final MappedMemory memory;
    private final HeapLayout layout;
    private final PageMap pages;
    private final OwnerRegistry registry;
    private final ProcessTable processTable;

    public HeapFigures(MappedMemory memory, HeapLayout layout, PageMap pages) {
        this.memory = memory;
        this.layout = layout;
        this.pages = pages;
        this.registry = new OwnerRegistry(memory, layout);
        this.processTable = new ProcessTable(memory, layout.processTableOffset());
    }

    /** Adds the figures of owned sets: per class, [used, allocations, frees]. */
    private long[][] ownedFigures() {
        long[][] figures = new long[SizeClasses.COUNT][3];
        for (int slot = 0; slot < ProcessTable.SLOT_COUNT; slot++) {
            if (processTable.tokenAt(slot) == 0) {
                continue; // a free slot owns nothing: a slot is freed only after its sets are released or adopted
            }
            for (int i = 0; i < OwnerRegistry.ENTRIES; i++) {
                long set = registry.set(slot, i);
                if (set < 0 || set >= layout.pageCount()) {
                    continue;
                }
                long entry = pages.entry(set);
                long word0 = entry < 0 ? 0 : pages.word0At(entry);
                if (PageMapEntry.kind(word0) != PageMapEntry.SLAB || PageMapEntry.owner(word0) != slot + 1
                        || PageMapEntry.sizeClass(word0) >= SizeClasses.COUNT) {
                    continue; // a stale entry
                }
                int c = PageMapEntry.sizeClass(word0);
                long live = OwnedSet.liveBlocks(memory, entry);
                long allocations = pages.word3At(entry);
                figures[c][0] += live;
                figures[c][1] += allocations;
                figures[c][2] += allocations - live;
            }
        }
        return figures;
    }

    /**
     * {@code totalBytes} = capacity; {@code usedBytes} = used slab blocks x block size + bytes
     * of buddy blocks handed to users; {@code cachedBytes} = bytes in the attached processes'
     * buddy caches (published per process-table slot); {@code availableBytes} = total - used -
     * cached.
     */
    public HeapStats stats(int attachedProcesses) {
        List<SizeClassStats> classes = new ArrayList<>(SizeClasses.COUNT);
        long slabUsed = 0;
        long[][] owned = ownedFigures();
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            long sets = sumOverStripes(c, CLASS_SET_COUNT);
            long used = sumOverStripes(c, CLASS_USED_BLOCKS) + owned[c][0];
            classes.add(new SizeClassStats(SizeClasses.blockSize(c), sets, sets * SizeClasses.SET_SIZE, used,
                    sumOverStripes(c, CLASS_ALLOCATIONS) + owned[c][1], sumOverStripes(c, CLASS_FREES) + owned[c][2]));
            slabUsed += used * SizeClasses.blockSize(c);
        }
        long buddyFree = memory.getLongVolatile(BUDDY_FREE_BYTES_OFFSET);
        long setBytes = memory.getLongVolatile(BUDDY_SET_BYTES_OFFSET);
        long cached = processTable.sumOfCacheWord(ProcessTable.CACHED_BYTES);
        long buddyUsed = memory.getLongVolatile(BUDDY_ALLOCATED_BYTES_OFFSET) - setBytes - cached;
        long[] freeBlocks = new long[layout.maxOrder() + 1];
        for (int order = 0; order < freeBlocks.length; order++) {
            freeBlocks[order] = memory.getLongVolatile(freeCountOffset(order));
        }
        long used = slabUsed + buddyUsed;
        return new HeapStats(layout.capacity(), used, layout.capacity() - used - cached, buddyFree, buddyUsed, largestListedBlock(), freeBlocks,
                memory.getLongVolatile(BUDDY_ALLOCATIONS_OFFSET) + memory.getLongVolatile(CACHE_ALLOCATIONS_OFFSET)
                        + processTable.sumOfCacheWord(ProcessTable.CACHE_ALLOCATIONS),
                memory.getLongVolatile(BUDDY_FREES_OFFSET) + memory.getLongVolatile(CACHE_FREES_OFFSET) + processTable.sumOfCacheWord(ProcessTable.CACHE_FREES),
                classes,
                attachedProcesses, holdings(), memory.getLongVolatile(LOCK_TAKEOVERS_OFFSET),
                memory.getLongVolatile(RECLAIMED_BLOCKS_OFFSET), memory.getLongVolatile(RECLAIMED_BYTES_OFFSET),
                memory.getLongVolatile(PROCESS_QUOTA_OFFSET), cached);
    }

    /**
     * Who holds the live blocks, by one census walk: every occupied process-table slot (with
     * what it holds, possibly nothing), plus any slot that is free yet still named by a live
     * block, which verify reports.
     */
    public Holdings holdings() {
        HolderCensus.Tally tally = HolderCensus.tally(memory, layout, pages);
        List<ProcessHoldings> processes = new ArrayList<>();
        for (int slot = 0; slot < ProcessTable.SLOT_COUNT; slot++) {
            long token = processTable.tokenAt(slot);
            int h = HolderMap.ofSlot(slot) & 0xFF;
            if (token != 0 || tally.blocks[h] != 0) {
                processes.add(new ProcessHoldings(slot, token == 0 ? 0 : ProcessTokens.pidOf(token), token & 0xFFFF_FFFFL,
                        token != 0 && ProcessTokens.isAlive(token), tally.blocks[h], tally.bytes[h]));
            }
        }
        int shared = HolderMap.SHARED & 0xFF;
        int handedOff = HolderMap.HANDED_OFF & 0xFF;
        long unattributedBlocks = 0;
        long unattributedBytes = 0;
        for (int h = 0; h < 256; h++) {
            if (h != shared && h != handedOff && HolderMap.slotOf((byte) h) < 0) {
                unattributedBlocks += tally.blocks[h];
                unattributedBytes += tally.bytes[h];
            }
        }
        return new Holdings(processes, tally.blocks[shared], tally.bytes[shared], tally.blocks[handedOff], tally.bytes[handedOff],
                unattributedBlocks, unattributedBytes);
    }

    /** The exact bytes process-table slot {@code slot} holds, by one census walk. */
    public long heldBytes(int slot) {
        return HolderCensus.tally(memory, layout, pages).bytes[HolderMap.ofSlot(slot) & 0xFF];
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
                case PageMapEntry.CACHED -> new BlockInfo(offset, length, BlockInfo.Kind.CACHED, 0, 0);
                default -> new BlockInfo(offset, length, BlockInfo.Kind.SLAB_SET, SizeClasses.blockSize(PageMapEntry.sizeClass(word0)),
                        Long.bitCount(word1 & ~pages.word2At(pages.entry(page))));
            });
            return true;
        }, problem -> { });
    }
}
