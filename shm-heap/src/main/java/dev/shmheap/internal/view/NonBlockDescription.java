package dev.shmheap.internal.view;

import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.pagemap.PageMap;

/** Says what lies at an offset that is not the start of a live block, for misuse messages. */
public final class NonBlockDescription {
    private NonBlockDescription() {
    }

    /** E.g. "offset 8192 lies in the free 4096-byte block at offset 8192: double free, or never allocated". */
    public static String of(long offset, PageMap pages, HeapLayout layout) {
        long page = layout.pageOf(offset);
        for (int order = 0; order <= layout.maxOrder(); order++) {
            long head = page & -(1L << order);
            long word0 = pages.word0(head);
            int kind = PageMapEntry.kind(word0);
            if (kind == PageMapEntry.NONE || kind == PageMapEntry.SLAB_PAGE || PageMapEntry.order(word0) < order) {
                continue;
            }
            long start = layout.pageOffset(head);
            long bytes = BuddyAllocator.blockBytes(PageMapEntry.order(word0));
            return switch (kind) {
                case PageMapEntry.FREE -> "offset " + offset + " lies in the free " + bytes + "-byte block at offset " + start
                        + ": double free, or never allocated";
                case PageMapEntry.USED -> "offset " + offset + " is " + (offset - start) + " bytes into the " + bytes
                        + "-byte block at offset " + start + ": free takes the offset allocate returned";
                case PageMapEntry.CACHED -> "offset " + offset + " lies in the freed " + bytes + "-byte block at offset " + start
                        + ", kept in the buddy cache of process-table slot " + (PageMapEntry.owner(word0) - 1) + ": double free, or never allocated";
                case PageMapEntry.SLAB -> inSet(offset, layout.pageOffset(head), SizeClasses.blockSize(PageMapEntry.sizeClass(word0)));
                default -> "offset " + offset + " lies in a block whose page-map entry is corrupt: " + PageMapEntry.toString(word0);
            };
        }
        return "offset " + offset + " is not in any block: the page map around page " + page + " is corrupt";
    }

    private static String inSet(long offset, long setStart, long blockSize) {
        long within = offset - setStart;
        long blockStart = offset - within % blockSize;
        if (within % blockSize != 0) {
            return "offset " + offset + " is " + (within % blockSize) + " bytes into the " + blockSize + "-byte slab block at offset "
                    + blockStart + ": free takes the offset allocate returned";
        }
        return "offset " + offset + " is a free " + blockSize + "-byte slab block: double free, or never allocated";
    }
}
