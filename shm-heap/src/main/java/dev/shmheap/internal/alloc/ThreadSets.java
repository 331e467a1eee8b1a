package dev.shmheap.internal.alloc;

import dev.shmheap.internal.layout.SizeClasses;

import java.util.Arrays;

/**
 * One thread's current owned set per size class, in one heap attachment. Only that thread
 * reads or writes the arrays while it runs; after it died, or at close, the attachment
 * releases its sets (under the class locks), which no other thread then touches.
 *
 * <p>Why per thread: the occupancy word of an owned set must have one writer, so that the
 * owner's allocate and free are plain stores; a per-process lock would cost two atomic
 * operations per pair. A free from any other thread, of this process or another, is remote.
 */
final class ThreadSets {
    final Thread thread;
    /** Head entry offset of the current set of each class, 0 = none. */
    final long[] entry = new long[SizeClasses.COUNT];
    /** File offset of the current set's first block. */
    final long[] base = new long[SizeClasses.COUNT];
    /** The holder-map line of the current set (see {@code HolderMap}). */
    final long[] holderLine = new long[SizeClasses.COUNT];
    /** Head page of the current set, -1 = none. */
    final long[] set = new long[SizeClasses.COUNT];
    /** The owned-set registry entry this thread uses for each class, -1 = none. */
    final int[] index = new int[SizeClasses.COUNT];

    ThreadSets(Thread thread) {
        this.thread = thread;
        Arrays.fill(set, -1);
        Arrays.fill(index, -1);
    }

    void install(int c, long setPage, long headEntry, long firstBlock, long setHolderLine) {
        set[c] = setPage;
        entry[c] = headEntry;
        base[c] = firstBlock;
        holderLine[c] = setHolderLine;
    }

    void forget(int c) {
        set[c] = -1;
        entry[c] = 0;
        base[c] = 0;
        holderLine[c] = 0;
    }
}
