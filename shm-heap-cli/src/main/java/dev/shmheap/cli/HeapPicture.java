package dev.shmheap.cli;

import dev.shmheap.BlockInfo;
import dev.shmheap.HeapObserver;

/**
 * The data region cut into equal cells, each a power-of-two run of 4 KiB pages, and a state per
 * cell: free, buddy-used, a slab set of one of the seven classes, or unknown (pages the page-map
 * walk could not read as part of a block, which a corrupt heap has). A cell is free only when
 * all its pages are free; otherwise it shows the state that holds most of its other pages, so
 * that a one-page slab set stays visible in a 32-page cell and a free cell can be trusted.
 *
 * <p>Built from {@link HeapObserver#forEachBlock}, which reads without locks: on a heap in use it
 * is a snapshot of a moving target.
 */
final class HeapPicture {
    static final long PAGE = 4096;
    static final int FREE = 0;
    static final int USED = 1;
    /** States SLAB .. SLAB + 6 are the slab classes 64 .. 4096. */
    static final int SLAB = 2;
    static final int CLASS_COUNT = 7;
    static final int UNKNOWN = SLAB + CLASS_COUNT;
    static final int STATES = UNKNOWN + 1;
    /** The states other than free, in the order that wins ties. */
    private static final int[] NOT_FREE = {USED, SLAB, SLAB + 1, SLAB + 2, SLAB + 3, SLAB + 4, SLAB + 5, SLAB + 6, UNKNOWN};

    final String file;
    final long dataOffset;
    final long capacity;
    final long pagesPerCell;
    final int width;
    final int cells;
    /** The state of each cell. */
    final byte[] state;
    /** Exact bytes per state over the whole region (not rounded to cells). */
    final long[] bytes = new long[STATES];

    private HeapPicture(String file, long dataOffset, long capacity, long pagesPerCell, int width) {
        this.file = file;
        this.dataOffset = dataOffset;
        this.capacity = capacity;
        this.pagesPerCell = pagesPerCell;
        this.width = width;
        long pages = capacity / PAGE;
        this.cells = Math.toIntExact((pages + pagesPerCell - 1) / pagesPerCell);
        this.state = new byte[cells];
    }

    /**
     * A picture {@code width} cells wide and at most {@code maxRows} rows high: the cell size is
     * the smallest power-of-two number of pages that fits.
     */
    static HeapPicture of(HeapObserver heap, int width, int maxRows) {
        long pages = heap.capacity() / PAGE;
        long needed = Math.max(1, (pages + (long) width * maxRows - 1) / ((long) width * maxRows));
        long pagesPerCell = Long.highestOneBit(needed) == needed ? needed : Long.highestOneBit(needed) << 1;
        HeapPicture picture = new HeapPicture(heap.path().toString(), heap.dataOffset(), heap.capacity(), pagesPerCell, width);
        picture.fill(heap);
        return picture;
    }

    private void fill(HeapObserver heap) {
        long pages = capacity / PAGE;
        long[] counts = new long[cells * STATES];
        heap.forEachBlock(block -> {
            int s = stateOf(block);
            long first = (block.offset() - dataOffset) / PAGE;
            long end = Math.min(pages, first + block.length() / PAGE);
            if (first < 0 || first >= end) {
                return;
            }
            bytes[s] += (end - first) * PAGE;
            for (long page = first; page < end; ) {
                int cell = (int) (page / pagesPerCell);
                long cellEnd = Math.min(end, (cell + 1) * pagesPerCell);
                counts[cell * STATES + s] += cellEnd - page;
                page = cellEnd;
            }
        });
        long known = 0;
        for (int s = 0; s < UNKNOWN; s++) {
            known += bytes[s];
        }
        bytes[UNKNOWN] = Math.max(0, capacity - known);
        for (int cell = 0; cell < cells; cell++) {
            long cellPages = Math.min(pagesPerCell, pages - cell * pagesPerCell);
            long covered = 0;
            for (int s = 0; s < UNKNOWN; s++) {
                covered += counts[cell * STATES + s];
            }
            counts[cell * STATES + UNKNOWN] = Math.max(0, cellPages - covered);
            int best = FREE;
            long bestPages = 0;
            for (int s : NOT_FREE) {
                if (counts[cell * STATES + s] > bestPages) {
                    best = s;
                    bestPages = counts[cell * STATES + s];
                }
            }
            state[cell] = (byte) best;
        }
    }

    static int stateOf(BlockInfo block) {
        return switch (block.kind()) {
            case FREE -> FREE;
            case USED -> USED;
            case CACHED -> FREE; // freed; its process's buddy cache hands it out again
            case SLAB_SET -> {
                int c = Integer.numberOfTrailingZeros(block.slabBlockSize()) - 6;
                yield c >= 0 && c < CLASS_COUNT ? SLAB + c : UNKNOWN;
            }
        };
    }

    int rows() {
        return (cells + width - 1) / width;
    }

    long cellBytes() {
        return pagesPerCell * PAGE;
    }

    static String stateName(int s) {
        if (s == FREE) {
            return "free";
        }
        if (s == USED) {
            return "buddy used";
        }
        if (s == UNKNOWN) {
            return "unreadable";
        }
        return "slab " + (64 << (s - SLAB)) + " B";
    }
}
