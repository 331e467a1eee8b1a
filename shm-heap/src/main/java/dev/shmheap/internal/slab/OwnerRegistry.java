package dev.shmheap.internal.slab;

import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.memory.MappedMemory;

/**
 * The owned-set registry: per process-table slot, the slab sets that process owns, so that
 * {@code stats()} can count the blocks of owned sets without walking the page map, and the
 * process that inherits a dead slot can adopt what it owned. 64 KiB right after the name
 * directory: 128 slots of 512 bytes, each 64 entries of one word.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |        entry 0 (64): set head page + 1, 0 = empty             |   0
 *  +---------------------------------------------------------------+
 *  |        entry 1 .. entry 63                                    |   8..511
 *  +---------------------------------------------------------------+
 *  (slot k's block starts at registry offset + 512 k)
 * </pre>
 *
 * <p>The truth is the owner field of a set's head entry (see {@code PageMapEntry}); the
 * registry is an index over it that may hold stale entries, never miss one:
 * <pre>
 *   set head owner == k + 1   ==&gt;  page + 1 is an entry of slot k
 * </pre>
 * Taking a set writes the entry before the owner field; releasing clears the owner field before
 * the entry. Every reader checks the owner field of the set an entry names and ignores an
 * entry whose set another slot (or nobody) owns. An entry is written only by the slot's
 * process (under the set's class lock) or by a repair holding that lock.
 */
public final class OwnerRegistry {
    public static final int ENTRIES = 64;
    public static final int SLOT_BLOCK_LENGTH = ENTRIES * 8;

    static {
        if (ProcessTable.SLOT_COUNT * SLOT_BLOCK_LENGTH != HeapLayout.OWNER_REGISTRY_LENGTH) {
            throw new ExceptionInInitializerError("owner registry: " + ProcessTable.SLOT_COUNT + " slots x " + SLOT_BLOCK_LENGTH
                    + " bytes != " + HeapLayout.OWNER_REGISTRY_LENGTH);
        }
    }

    private final MappedMemory memory;
    private final long offset;

    public OwnerRegistry(MappedMemory memory, HeapLayout layout) {
        this.memory = memory;
        this.offset = layout.ownerRegistryOffset();
    }

    public long entryOffset(int slot, int index) {
        return offset + (long) slot * SLOT_BLOCK_LENGTH + (long) index * 8;
    }

    /** The set page entry {@code index} of {@code slot} names, or -1 when empty. */
    public long set(int slot, int index) {
        return memory.getLongVolatile(entryOffset(slot, index)) - 1;
    }

    public void put(int slot, int index, long setPage) {
        memory.putLongRelease(entryOffset(slot, index), setPage + 1);
    }

    public void clear(int slot, int index) {
        if (memory.getLongVolatile(entryOffset(slot, index)) != 0) {
            memory.putLongRelease(entryOffset(slot, index), 0);
        }
    }

    /** Clears every entry of {@code slot} that names {@code setPage}. */
    public void clearSet(int slot, long setPage) {
        for (int i = 0; i < ENTRIES; i++) {
            if (set(slot, i) == setPage) {
                clear(slot, i);
            }
        }
    }

    /** Whether an entry of {@code slot} names {@code setPage}. */
    public boolean contains(int slot, long setPage) {
        for (int i = 0; i < ENTRIES; i++) {
            if (set(slot, i) == setPage) {
                return true;
            }
        }
        return false;
    }
}
