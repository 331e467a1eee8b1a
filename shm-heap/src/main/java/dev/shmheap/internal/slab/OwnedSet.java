package dev.shmheap.internal.slab;

import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.memory.MappedMemory;

/**
 * The lock-free protocol on one owned slab set, over its head entry (see {@link PageMapEntry}:
 * O = word 1, R = word 2, A = word 3, owner in word 0). No method here takes a lock.
 *
 * <pre>
 *   block i live        &lt;=&gt;  O_i = 1 and R_i = 0
 *   R ⊆ O               (except between the two stores of a collection)
 *   O, A written only by the owning thread while the owner field is set
 *   R: bits set only by one CAS of a remote freer; cleared only by whoever collects
 * </pre>
 *
 * <ul>
 * <li>Owner allocate: pick a clear bit of O, store the block's holder byte, store O with the
 *     bit set (the commit, ordered after the holder byte), store A + 1.</li>
 * <li>Owner free (the set is the freeing thread's current set): store O with the bit clear.</li>
 * <li>Remote free: read O, require the bit; CAS R |= bit (an R bit already set is a double
 *     free); then read the owner field: 0 means a release may have missed this bit, and the
 *     freer collects under the class lock.</li>
 * <li>Collect (owner, releaser, adopter, lock holder of an unowned set): r = R; store O &amp; ~r;
 *     CAS R &amp;= ~r. Killed between, a bit is in neither word's live state: no lost free.</li>
 * </ul>
 */
public final class OwnedSet {
    /** {@link #remoteFree} results. */
    public static final int FREED = 0;
    public static final int NOT_LIVE = 1;
    /** Freed, but the set was released meanwhile: the caller collects it under the class lock. */
    public static final int FREED_UNOWNED = 2;

    private OwnedSet() {
    }

    /**
     * Owner allocate from the set whose head entry is {@code entry}; returns the block index
     * or -1 when O is full (the caller collects, then releases the set). The block's holder
     * byte in {@code holderLine} (the set's line of the holder map) is stored first, the O
     * store that commits the block is ordered after it.
     */
    public static int allocate(MappedMemory memory, long entry, long holderLine, byte holder) {
        long occupancy = memory.getLongUnchecked(entry + PageMapEntry.WORD1);
        if (occupancy == -1L) {
            return -1;
        }
        int block = Long.numberOfTrailingZeros(~occupancy);
        memory.putByteUnchecked(holderLine + block, holder);
        memory.putLongReleaseUnchecked(entry + PageMapEntry.WORD1, occupancy | (1L << block));
        memory.putLongUnchecked(entry + PageMapEntry.WORD3, memory.getLongUnchecked(entry + PageMapEntry.WORD3) + 1);
        return block;
    }

    /**
     * Owner free of block {@code block}; false (changing nothing) when it is not live. R is
     * read, not written: a block a remote freer already freed is not live.
     */
    public static boolean free(MappedMemory memory, long entry, int block) {
        long occupancy = memory.getLongUnchecked(entry + PageMapEntry.WORD1);
        long bit = 1L << block;
        if ((occupancy & ~memory.getLongVolatileUnchecked(entry + PageMapEntry.WORD2) & bit) == 0) {
            return false;
        }
        memory.putLongUnchecked(entry + PageMapEntry.WORD1, occupancy & ~bit);
        return true;
    }

    /** Remote free of block {@code block}: one CAS on R, then the owner check of the Dekker pair. */
    public static int remoteFree(MappedMemory memory, long entry, int block) {
        long bit = 1L << block;
        if ((memory.getLongVolatileUnchecked(entry + PageMapEntry.WORD1) & bit) == 0) {
            return NOT_LIVE;
        }
        long remote;
        do {
            remote = memory.getLongVolatileUnchecked(entry + PageMapEntry.WORD2);
            if ((remote & bit) != 0) {
                return NOT_LIVE;
            }
        } while (!memory.compareAndSetLong(entry + PageMapEntry.WORD2, remote, remote | bit));
        return PageMapEntry.owner(memory.getLongVolatileUnchecked(entry + PageMapEntry.WORD0)) == 0 ? FREED_UNOWNED : FREED;
    }

    /**
     * Moves R's bits out of O, then out of R; returns the bits collected. Only one collector
     * runs per set at a time (the owner, or a lock holder of an unowned set); remote freers may
     * add bits meanwhile, which the CAS loop keeps.
     */
    public static long collect(MappedMemory memory, long entry) {
        long remote = memory.getLongVolatileUnchecked(entry + PageMapEntry.WORD2);
        if (remote == 0) {
            return 0;
        }
        memory.putLongUnchecked(entry + PageMapEntry.WORD1, memory.getLongVolatileUnchecked(entry + PageMapEntry.WORD1) & ~remote);
        long current;
        do {
            current = memory.getLongVolatileUnchecked(entry + PageMapEntry.WORD2);
        } while (!memory.compareAndSetLong(entry + PageMapEntry.WORD2, current, current & ~remote));
        return remote;
    }

    /**
     * The releasing side of the Dekker pair: stores word 0 with the owner cleared, with a full
     * fence after it, so that the collection that follows sees every R bit whose freer will
     * not see owner = 0.
     */
    public static void disown(MappedMemory memory, long entry) {
        long word0 = memory.getLongVolatileUnchecked(entry + PageMapEntry.WORD0);
        memory.putLongVolatile(entry + PageMapEntry.WORD0, PageMapEntry.withOwner(PageMapEntry.withLink(word0, 0), 0));
    }

    /** The block index of {@code offset} in a set of class {@code c} starting at {@code setStart}, or -1 if not a block start. */
    public static int blockIndex(long offset, long setStart, int c) {
        int shift = SizeClasses.MIN_SHIFT + c;
        long within = offset - setStart;
        return (within & ((1L << shift) - 1)) == 0 ? (int) (within >>> shift) : -1;
    }

    /** Live blocks of a set: popcount(O &amp; ~R). */
    public static long liveBlocks(MappedMemory memory, long entry) {
        return Long.bitCount(memory.getLongVolatileUnchecked(entry + PageMapEntry.WORD1)
                & ~memory.getLongVolatileUnchecked(entry + PageMapEntry.WORD2));
    }
}
