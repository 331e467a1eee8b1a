package dev.shmheap.internal.pagemap;

import dev.shmheap.HeapCorruptedException;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.memory.MappedMemory;

/**
 * Range-checked access to the page map ({@link PageMapEntry} describes one entry). Page
 * indexes come from links stored in the file, so every one is checked against the page count
 * before it is turned into an address (after which the entry's offset lies inside the mapping by
 * construction of the layout, so the access itself goes unchecked); an entry whose page-map slice was never reserved is
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
        long entry = entry(page);
        return entry < 0 ? 0 : word0At(entry);
    }

    public long word1(long page) {
        long entry = entry(page);
        return entry < 0 ? 0 : word1At(entry);
    }

    /** Writes word 1; the caller reserved the entry's slice. */
    public void putWord1(long page, long value) {
        putWord1At(layout.entryOffset(checkWritable(page)), value);
    }

    /** Commits a state change with one ordered 64-bit store after the stores before it. */
    public void putWord0(long page, long value) {
        putWord0At(layout.entryOffset(checkWritable(page)), value);
    }

    /**
     * The file offset of {@code page}'s entry, for the {@code *At} accessors, or -1 when the
     * entry's slice is not reserved (the entry is NONE then). Checked once, the offset serves
     * every access to that entry in a locked section: the hot paths check each entry once.
     */
    public long entry(long page) {
        checkPage(page);
        return reservations.pageMapReserved(page) ? layout.entryOffset(page) : -1;
    }

    /** Word 0 of the entry at {@code entry}, an offset from {@link #entry} (not -1). */
    public long word0At(long entry) {
        return memory.getLongVolatileUnchecked(entry + PageMapEntry.WORD0);
    }

    public long word1At(long entry) {
        return memory.getLongVolatileUnchecked(entry + PageMapEntry.WORD1);
    }

    public void putWord1At(long entry, long value) {
        memory.putLongUnchecked(entry + PageMapEntry.WORD1, value);
    }

    /** Word 1 stored ordered after the stores before it: a slab allocation's commit. */
    public void putWord1ReleaseAt(long entry, long value) {
        memory.putLongReleaseUnchecked(entry + PageMapEntry.WORD1, value);
    }

    /** Word 2 of a SLAB head: the remote-free word R. */
    public long word2At(long entry) {
        return memory.getLongVolatileUnchecked(entry + PageMapEntry.WORD2);
    }

    /** Word 3 of a SLAB head: the owner's allocations since it took the set. */
    public long word3At(long entry) {
        return memory.getLongUnchecked(entry + PageMapEntry.WORD3);
    }

    public void putWord3At(long entry, long value) {
        memory.putLongUnchecked(entry + PageMapEntry.WORD3, value);
    }

    /** One atomic step on R: the only way anyone but a lock holder or owner changes a set. */
    public boolean compareAndSetWord2At(long entry, long expected, long value) {
        return memory.compareAndSetLong(entry + PageMapEntry.WORD2, expected, value);
    }

    /**
     * A word-0 store with a full fence after it: the releasing side of the Dekker pair with a
     * remote freer (store owner = 0, then read R; the freer CASes R, then reads the owner).
     */
    public void putWord0VolatileAt(long entry, long value) {
        memory.putLongVolatile(entry + PageMapEntry.WORD0, value);
    }

    /**
     * Claims a buddy block's head: one CAS of word 0 from the word read. The USED -> CACHED and
     * USED -> FREE transitions of a free use it, so that two frees of one block never both win.
     */
    public boolean compareAndSetWord0(long page, long expected, long value) {
        return memory.compareAndSetLong(layout.entryOffset(checkWritable(page)) + PageMapEntry.WORD0, expected, value);
    }

    /** The commit store: ordered after the stores before it. */
    public void putWord0At(long entry, long value) {
        memory.putLongReleaseUnchecked(entry + PageMapEntry.WORD0, value);
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
        long headEntry = entry(set);
        boolean live = headEntry >= 0 && PageMapEntry.kind(head) == PageMapEntry.SLAB && PageMapEntry.sizeClass(head) == c
                && within % blockSize == 0 && (word1At(headEntry) & ~word2At(headEntry) & (1L << (within / blockSize))) != 0;
        return live ? blockSize : -1;
    }

    /**
     * The holder-map byte of the live block that starts at {@code offset} (see
     * {@code HolderMap}), or -1 when no live block starts there. A snapshot, like
     * {@link #liveBlockSize}.
     */
    public long liveBlockHolder(long offset) {
        if (liveBlockSize(offset) < 0) {
            return -1;
        }
        long page = layout.pageOf(offset);
        long word0 = word0(page);
        if (PageMapEntry.kind(word0) == PageMapEntry.USED) {
            return layout.holderLine(page);
        }
        int c = PageMapEntry.sizeClass(word0);
        long set = page & -(1L << SizeClasses.setOrder(c));
        return layout.holderLine(set) + (offset - layout.pageOffset(set)) / SizeClasses.blockSize(c);
    }

    /**
     * Turns a stored link (page + 1, 0 = none) into a page index, or throws naming where it
     * was read: {@code what + " " + index} (built only on failure: this is on the hot path).
     */
    public long pageOfLink(long link, String what, long index) {
        if (link <= 0 || link > pageCount) {
            throw badLink(link, what, index);
        }
        return link - 1;
    }

    // The checks below are on every allocate and free; their messages are built in separate
    // methods so that the checks stay small enough for the JIT to inline.

    private void checkPage(long page) {
        if (page < 0 || page >= pageCount) {
            throw outsideMap(page);
        }
    }

    private long checkWritable(long page) {
        checkPage(page);
        if (!reservations.pageMapReserved(page)) {
            throw unreserved(page);
        }
        return page;
    }

    private HeapCorruptedException badLink(long link, String what, long index) {
        return new HeapCorruptedException(what + " " + index + " holds link " + link + ", outside pages 1.." + pageCount);
    }

    private HeapCorruptedException outsideMap(long page) {
        return new HeapCorruptedException("page index " + page + " is outside the page map of " + pageCount + " pages");
    }

    private static IllegalStateException unreserved(long page) {
        return new IllegalStateException("write to page-map entry " + page + " whose slice is not reserved");
    }
}
