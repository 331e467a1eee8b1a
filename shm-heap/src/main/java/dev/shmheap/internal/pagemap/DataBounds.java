package dev.shmheap.internal.pagemap;

import dev.shmheap.internal.layout.HeapLayout;

/**
 * Checks that an access through the public accessors stays inside the data region and, in a
 * sparse heap, inside extents with reserved backing store: touching an unreserved extent on a
 * full filesystem would raise SIGBUS in the JVM instead of an exception.
 */
public final class DataBounds {
    private final HeapLayout layout;
    private final ExtentReservations reservations;
    private final String file;

    public DataBounds(HeapLayout layout, ExtentReservations reservations, String file) {
        this.layout = layout;
        this.reservations = reservations;
        this.file = file;
    }

    /** Returns {@code offset} if {@code length} bytes from it may be accessed; else {@link IndexOutOfBoundsException}. */
    public long check(long offset, long length) {
        if (offset < layout.dataOffset() || length < 0 || offset > layout.dataEnd() - length) {
            throw new IndexOutOfBoundsException("access of " + length + " bytes at offset " + offset + " is outside the data region ["
                    + layout.dataOffset() + ", " + layout.dataEnd() + ") of heap " + file);
        }
        if (layout.sparse()) {
            checkReserved(offset, length);
        }
        return offset;
    }

    private void checkReserved(long offset, long length) {
        long first = (offset - layout.dataOffset()) >>> HeapLayout.EXTENT_SHIFT;
        long last = (offset + Math.max(length, 1) - 1 - layout.dataOffset()) >>> HeapLayout.EXTENT_SHIFT;
        for (long extent = first; extent <= last; extent++) {
            if (!reservations.dataReserved(extent)) {
                throw new IndexOutOfBoundsException("access of " + length + " bytes at offset " + offset + " touches data extent " + extent
                        + " of sparse heap " + file + ", which was never allocated and has no reserved backing store");
            }
        }
    }

    /** Checks that {@code offset} names a byte of the data region; else {@link IllegalArgumentException}. */
    public void checkInData(long offset) {
        if (!layout.inData(offset)) {
            throw new IllegalArgumentException("offset " + offset + " is outside the data region [" + layout.dataOffset() + ", "
                    + layout.dataEnd() + ") of heap " + file);
        }
    }
}
