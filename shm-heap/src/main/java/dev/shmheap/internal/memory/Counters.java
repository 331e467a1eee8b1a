package dev.shmheap.internal.memory;

/**
 * The heap's 64-bit counters in shared memory. Each is written only by the holder of the lock
 * that guards it and read by anyone: a plain read and an ordered store suffice for the writer,
 * and readers see every value whole.
 */
public final class Counters {
    private Counters() {
    }

    /** {@code offset} is a header field's, fixed by the layout. */
    public static void add(MappedMemory memory, long offset, long delta) {
        memory.putLongReleaseUnchecked(offset, memory.getLongUnchecked(offset) + delta);
    }

    /** For counters no single lock guards (the lifetime counters): one CAS loop. */
    public static void addAtomic(MappedMemory memory, long offset, long delta) {
        long current;
        do {
            current = memory.getLongVolatile(offset);
        } while (!memory.compareAndSetLong(offset, current, current + delta));
    }

    /**
     * Keeps a pair of statistics counters true to {@code allocations - frees == live blocks}
     * after a repair: a process killed between its state change and its counter updates leaves
     * them off by one, and the allocation count is the one worth keeping.
     */
    public static void restoreFrees(MappedMemory memory, long allocationsOffset, long freesOffset, long liveBlocks) {
        long allocations = Math.max(memory.getLong(allocationsOffset), liveBlocks);
        memory.putLong(allocationsOffset, allocations);
        memory.putLong(freesOffset, allocations - liveBlocks);
    }
}
