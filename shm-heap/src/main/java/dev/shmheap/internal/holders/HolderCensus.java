package dev.shmheap.internal.holders;

import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.pagemap.PageMap;
import dev.shmheap.internal.pagemap.PageMapWalker;

/**
 * One walk over the live blocks with their holder bytes (see {@code HolderMap}), without
 * locks. A block that stays live throughout the walk is visited exactly once: its head entry
 * stays a head, and no head read during the walk can span it (a block covering its page would
 * have had to exist while it did). Blocks allocated or freed during the walk may or may not be
 * visited; an entry the walk cannot read as a head is skipped a page at a time.
 */
public final class HolderCensus {
    @FunctionalInterface
    public interface BlockVisitor {
        void visit(long offset, long size, long holderOffset, byte holder);
    }

    /** Bytes and blocks per holder byte value (index {@code holder & 0xFF}). */
    public static final class Tally {
        public final long[] blocks = new long[256];
        public final long[] bytes = new long[256];

        void add(byte holder, long size) {
            blocks[holder & 0xFF]++;
            bytes[holder & 0xFF] += size;
        }
    }

    private HolderCensus() {
    }

    /** Visits every live block with its holder. */
    public static void walk(MappedMemory memory, HeapLayout layout, PageMap pages, BlockVisitor visitor) {
        PageMapWalker.walkReportingPages(pages, layout, (page, word0, word1) -> {
            int kind = PageMapEntry.kind(word0);
            if (kind == PageMapEntry.USED) {
                long line = layout.holderLine(page);
                visitor.visit(layout.pageOffset(page), (long) SizeClasses.PAGE_SIZE << PageMapEntry.order(word0), line, memory.getByte(line));
            } else if (kind == PageMapEntry.SLAB) {
                int c = PageMapEntry.sizeClass(word0);
                long entry = pages.entry(page);
                long live = entry < 0 ? 0 : pages.word1At(entry) & ~pages.word2At(entry);
                long line = layout.holderLine(page);
                long first = layout.pageOffset(page);
                int blockSize = SizeClasses.blockSize(c);
                while (live != 0) {
                    int i = Long.numberOfTrailingZeros(live);
                    live &= live - 1;
                    visitor.visit(first + (long) i * blockSize, blockSize, line + i, memory.getByte(line + i));
                }
            }
            return true;
        }, (page, problem) -> {
            // a concurrent split or merge, or corruption verify reports: skip a page
        });
    }

    /** Counts the live blocks and bytes of every holder. */
    public static Tally tally(MappedMemory memory, HeapLayout layout, PageMap pages) {
        Tally tally = new Tally();
        walk(memory, layout, pages, (offset, size, holderOffset, holder) -> tally.add(holder, size));
        return tally;
    }
}
