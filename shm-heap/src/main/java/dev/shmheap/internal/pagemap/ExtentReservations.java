package dev.shmheap.internal.pagemap;

import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.memory.NativeIo;

/**
 * Backing-store reservation of a sparse heap, one bit per 1 MiB extent of the data region in
 * each of two bitmaps of the extent map: "the extent's page-map slice is reserved" (256
 * entries of 32 bytes, two pages, and the extent's 256 holder lines of 64 bytes, four pages of
 * the holder map) and "the extent's data is reserved".
 *
 * <p>Invariant: nothing writes a page-map entry or hands out data whose extent bit is clear;
 * a clear page-map bit means every entry of that slice is NONE and is read as such without
 * touching the page (on tmpfs even a read fault on a hole allocates, and can SIGBUS).
 * Bits are only ever set, under the buddy lock, after posix_fallocate succeeded. A heap
 * created without SPARSE has every bit set at creation.
 *
 * <p>Because bits only ever go from clear to set, each process keeps a private copy of the
 * words it has read: a bit set in the copy is set in the file, so the check on every page-map
 * access is a plain read of process memory, and only a clear bit goes to the file (a volatile
 * read there on every access was a quarter of a 64-byte allocate+free pair). The copy may
 * lag the file, never lead it, even when threads race to refresh a word: each writes a
 * snapshot of the file's word, and every snapshot is a subset of the file's current value.
 */
public final class ExtentReservations {
    private final MappedMemory memory;
    private final HeapLayout layout;
    private final int fd;
    private volatile String lastFailure;
    private final boolean sparse;
    private final long pageMapBitmapOffset;
    private final long[] pageMapSeen;
    private final long[] dataSeen;

    /** @param fd a read-write descriptor of the heap file, or -1 for a fully reserved heap */
    public ExtentReservations(MappedMemory memory, HeapLayout layout, int fd) {
        this.memory = memory;
        this.layout = layout;
        this.fd = fd;
        this.sparse = layout.sparse();
        this.pageMapBitmapOffset = layout.pageMapReservedBitmapOffset();
        this.pageMapSeen = new long[Math.toIntExact(layout.extentWords())];
        this.dataSeen = new long[Math.toIntExact(layout.extentWords())];
    }

    /** Marks every extent reserved; for heaps created without SPARSE. */
    public void markAllReserved() {
        for (long w = 0; w < layout.extentWords(); w++) {
            long bits = w == layout.extentWords() - 1 && layout.extentCount() % 64 != 0
                    ? (1L << (layout.extentCount() % 64)) - 1 : -1L;
            memory.putLong(layout.pageMapReservedBitmapOffset() + w * 8, bits);
            memory.putLong(layout.dataReservedBitmapOffset() + w * 8, bits);
        }
    }

    public boolean pageMapReserved(long page) {
        // on every page-map access: fields of this object only, no division
        return !sparse || bit(pageMapSeen, pageMapBitmapOffset, page >>> (HeapLayout.EXTENT_SHIFT - SizeClasses.PAGE_SHIFT));
    }

    public boolean dataReserved(long extent) {
        return !layout.sparse() || bit(dataSeen, layout.dataReservedBitmapOffset(), extent);
    }

    /** Reserves the page-map slice holding {@code page}'s entry; false when the filesystem is full. */
    public boolean reservePageMap(long page) {
        long extent = page / HeapLayout.PAGES_PER_EXTENT;
        if (pageMapReserved(page)) {
            return true;
        }
        long sliceBytes = (long) HeapLayout.PAGES_PER_EXTENT * dev.shmheap.internal.layout.PageMapEntry.LENGTH;
        long sliceOffset = layout.pageMapOffset() + extent * sliceBytes;
        if (!fallocate(sliceOffset, sliceBytes, "page map of extent " + extent)) {
            return false;
        }
        long holderBytes = (long) HeapLayout.PAGES_PER_EXTENT * dev.shmheap.internal.layout.HolderMap.LINE;
        if (!fallocate(layout.holderMapOffset() + extent * holderBytes, holderBytes, "holder map of extent " + extent)) {
            return false;
        }
        setBit(layout.pageMapReservedBitmapOffset(), extent);
        return true;
    }

    /** Reserves the data extents under pages {@code [first, first + count)}. */
    public boolean reserveData(long firstPage, long pageCount) {
        if (!layout.sparse()) {
            return true;
        }
        long firstExtent = firstPage / HeapLayout.PAGES_PER_EXTENT;
        long lastExtent = (firstPage + pageCount - 1) / HeapLayout.PAGES_PER_EXTENT;
        for (long e = firstExtent; e <= lastExtent; e++) {
            if (dataReserved(e)) {
                continue;
            }
            long runEnd = e;
            while (runEnd + 1 <= lastExtent && !dataReserved(runEnd + 1)) {
                runEnd++;
            }
            long start = layout.dataOffset() + (e << HeapLayout.EXTENT_SHIFT);
            long end = Math.min(layout.dataEnd(), layout.dataOffset() + ((runEnd + 1) << HeapLayout.EXTENT_SHIFT));
            if (!fallocate(start, end - start, "data extents " + e + ".." + runEnd)) {
                return false;
            }
            for (long r = e; r <= runEnd; r++) {
                setBit(layout.dataReservedBitmapOffset(), r);
            }
            e = runEnd;
        }
        return true;
    }

    /** Forgets the last failure; called as each buddy allocation starts. */
    public void clearFailure() {
        lastFailure = null;
    }

    /** Why the last reservation of this process failed, for the heap-full message. */
    public String lastFailure() {
        return lastFailure;
    }

    private boolean fallocate(long offset, long length, String what) {
        if (fd < 0) {
            lastFailure = "no file descriptor to reserve " + what;
            return false;
        }
        int errno = NativeIo.fallocate(fd, offset, length);
        if (errno != 0) {
            lastFailure = "the filesystem could not reserve " + length + " bytes at file offset " + offset + " for " + what + ": "
                    + NativeIo.describeErrno(errno);
            return false;
        }
        return true;
    }

    private boolean bit(long[] seen, long bitmapOffset, long index) {
        int word = (int) (index >>> 6);
        long mask = 1L << index;
        if ((seen[word] & mask) != 0) {
            return true;
        }
        // index is an extent of a checked page, so the word lies inside the bitmap
        long inFile = memory.getLongVolatileUnchecked(bitmapOffset + word * 8L);
        seen[word] = inFile;
        return (inFile & mask) != 0;
    }

    private void setBit(long bitmapOffset, long index) {
        long wordOffset = bitmapOffset + (index >>> 6) * 8;
        long old;
        do {
            old = memory.getLongVolatile(wordOffset);
        } while (!memory.compareAndSetLong(wordOffset, old, old | (1L << index)));
    }
}
