package dev.shmheap.internal.pagemap;

import dev.shmheap.HeapCorruptedException;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.memory.MappedMemory;

/**
 * Range-checked access to the page map ({@link PageMapEntry} describes one entry). Page
 * indexes come from links stored in the file, so every one is checked against the page count
 * before it is turned into an address; an entry whose page-map slice was never reserved is
 * read as NONE without touching the file.
 */
public final class PageMap {
    private final MappedMemory memory;
    private final HeapLayout layout;
    private final ExtentReservations reservations;
    private final long pageCount;

    public PageMap(MappedMemory memory, HeapLayout layout, ExtentReservations reservations) {
        this.memory = memory;
        this.layout = layout;
        this.reservations = reservations;
        this.pageCount = layout.pageCount();
    }

    public long pageCount() {
        return pageCount;
    }

    public ExtentReservations reservations() {
        return reservations;
    }

    public long word0(long page) {
        checkPage(page);
        return reservations.pageMapReserved(page) ? memory.getLongVolatile(layout.entryOffset(page) + PageMapEntry.WORD0) : 0;
    }

    public long word1(long page) {
        checkPage(page);
        return reservations.pageMapReserved(page) ? memory.getLongVolatile(layout.entryOffset(page) + PageMapEntry.WORD1) : 0;
    }

    /** Writes word 1; the caller reserved the entry's slice. */
    public void putWord1(long page, long value) {
        memory.putLong(layout.entryOffset(checkWritable(page)) + PageMapEntry.WORD1, value);
    }

    /** Commits a state change with one ordered 64-bit store after the stores before it. */
    public void putWord0(long page, long value) {
        memory.putLongRelease(layout.entryOffset(checkWritable(page)) + PageMapEntry.WORD0, value);
    }

    /**
     * The size of the live block that starts at {@code offset}, or -1 when no live block
     * starts there (a free block, an interior offset, a corrupt entry). Read without a lock:
     * exact for a block the caller holds, a snapshot otherwise.
     */
    public long liveBlockSize(long offset) {
        if (!layout.inData(offset)) {
            return -1;
        }
        long page = layout.pageOf(offset);
        long word0 = word0(page);
        int kind = PageMapEntry.kind(word0);
        if (kind == PageMapEntry.USED) {
            return offset == layout.pageOffset(page) ? (long) SizeClasses.PAGE_SIZE << PageMapEntry.order(word0) : -1;
        }
        int c = PageMapEntry.sizeClass(word0);
        if ((kind != PageMapEntry.SLAB && kind != PageMapEntry.SLAB_PAGE) || c >= SizeClasses.COUNT) {
            return -1;
        }
        long set = page & -(1L << SizeClasses.setOrder(c));
        long head = word0(set);
        long blockSize = SizeClasses.blockSize(c);
        long within = offset - layout.pageOffset(set);
        boolean live = PageMapEntry.kind(head) == PageMapEntry.SLAB && PageMapEntry.sizeClass(head) == c && within % blockSize == 0
                && (word1(set) & (1L << (within / blockSize))) != 0;
        return live ? blockSize : -1;
    }

    /**
     * Turns a stored link (page + 1, 0 = none) into a page index, or throws naming where it
     * was read: {@code what + " " + index} (built only on failure: this is on the hot path).
     */
    public long pageOfLink(long link, String what, long index) {
        if (link <= 0 || link > pageCount) {
            throw new HeapCorruptedException(what + " " + index + " holds link " + link + ", outside pages 1.." + pageCount);
        }
        return link - 1;
    }

    private void checkPage(long page) {
        if (page < 0 || page >= pageCount) {
            throw new HeapCorruptedException("page index " + page + " is outside the page map of " + pageCount + " pages");
        }
    }

    private long checkWritable(long page) {
        checkPage(page);
        if (!reservations.pageMapReserved(page)) {
            throw new IllegalStateException("write to page-map entry " + page + " whose slice is not reserved");
        }
        return page;
    }
}
