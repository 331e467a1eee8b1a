package dev.shmheap.internal.lock;

import dev.shmheap.internal.process.ProcessTokens;
import dev.shmheap.ShmHeapException;
import dev.shmheap.internal.memory.MappedMemory;

import java.util.ArrayList;
import java.util.List;

/**
 * The table of processes attached to a heap: 128 slots of 64 bytes (one cache line each, so
 * that a process's own updates of its buddy-cache words never bounce a line another process
 * writes) right after the header.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Process token (64): pid, start time; 0 = free        |  0
 *  +---------------------------------------------------------------+
 *  |          Attach time, epoch ms (64)                           |  8
 *  +---------------------------------------------------------------+
 *  |          Kept: the token again once a census found that this   | 16
 *  |          dead process still holds blocks, else 0 (64)          |
 *  +---------------------------------------------------------------+
 *  |          Cached bytes: bytes in this process's buddy cache (64) | 24
 *  +---------------------------------------------------------------+
 *  |          Cache allocations: requests its cache served, less  | 32
 *  |          the blocks it took from the buddy (64)               |
 *  +---------------------------------------------------------------+
 *  |          Cache frees: frees its cache took, less the blocks   | 40
 *  |          it gave back to the buddy (64)                       |
 *  +---------------------------------------------------------------+
 *  |          reserved, zero (2 x 64)                              | 48
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>The three cache words have one writer, the slot's process (plain stores, after each change
 * of its cache's page-map entries), or, once the process no longer runs, the survivor that
 * gives its cached blocks back ({@code DeadCaches}), which folds the two counts into the
 * header's lifetime counters and zeroes the words before the slot can be freed. Other
 * processes read them for {@code stats()}. A kill between an entry change and the store
 * leaves them one block off until the slot is settled.
 *
 * <p>A slot is claimed with one CAS of its token word from 0, and freed with one CAS back to
 * 0; a process killed at any point leaves either its token (seen as dead) or nothing. Each
 * open heap instance holds one slot. A slot's number is the holder byte of the blocks its
 * process holds (see {@code HolderMap}), so a slot is freed only when its process holds
 * nothing: at close when the attachment holds no block, else once the process no longer runs
 * and its blocks are reclaimed or found gone ({@code DeadHolders}). A dead process's slot that
 * still holds blocks in a heap without RECLAIM_DEAD stays, marked kept, so that its holdings
 * stay attributed to its pid until the user reclaims them.
 */
public final class ProcessTable {
    public static final int SLOT_LENGTH = 64;
    public static final int SLOT_COUNT = 128;
    public static final int TOKEN = 0;
    public static final int ATTACHED_MILLIS = 8;
    public static final int KEPT = 16;
    public static final int CACHED_BYTES = 24;
    public static final int CACHE_ALLOCATIONS = 32;
    public static final int CACHE_FREES = 40;

    private final MappedMemory memory;
    private final long tableOffset;

    public ProcessTable(MappedMemory memory, long tableOffset) {
        this.memory = memory;
        this.tableOffset = tableOffset;
    }

    /** Claims a free slot for {@code token} and returns its index. */
    public int register(long token) {
        for (int slot = 0; slot < SLOT_COUNT; slot++) {
            long offset = slotOffset(slot);
            if (memory.getLongVolatile(offset + TOKEN) == 0 && memory.compareAndSetLong(offset + TOKEN, 0, token)) {
                memory.putLongRelease(offset + ATTACHED_MILLIS, System.currentTimeMillis());
                if (memory.getLongVolatile(offset + KEPT) != 0) {
                    memory.putLongRelease(offset + KEPT, 0);
                }
                for (int field = CACHED_BYTES; field <= CACHE_FREES; field += Long.BYTES) {
                    if (memory.getLongVolatile(offset + field) != 0) {
                        memory.putLongRelease(offset + field, 0); // a settle or close zeroes them first; this is belt and braces
                    }
                }
                return slot;
            }
        }
        int kept = 0;
        for (int slot = 0; slot < SLOT_COUNT; slot++) {
            long t = tokenAt(slot);
            if (t != 0 && !ProcessTokens.isAlive(t)) {
                kept++;
            }
        }
        throw new ShmHeapException("the process table is full: " + SLOT_COUNT + " slots, " + kept
                + " of them held by processes that no longer run but still hold blocks; ShmHeap.reclaimDead() frees them");
    }

    /** The token in {@code slot}, 0 when free. */
    public long tokenAt(int slot) {
        return memory.getLongVolatile(slotOffset(slot) + TOKEN);
    }

    /** Whether {@code slot} holds a process that still runs. */
    public boolean slotAlive(int slot) {
        long token = tokenAt(slot);
        return token != 0 && ProcessTokens.isAlive(token);
    }

    public void deregister(int slot, long token) {
        memory.compareAndSetLong(slotOffset(slot) + TOKEN, token, 0);
    }

    /** Frees {@code slot} if it still holds {@code token}; true if this call freed it. */
    public boolean free(int slot, long token) {
        return memory.compareAndSetLong(slotOffset(slot) + TOKEN, token, 0);
    }

    /** Whether {@code slot} is marked kept for {@code token} (see the class comment). */
    public boolean kept(int slot, long token) {
        return memory.getLongVolatile(slotOffset(slot) + KEPT) == token;
    }

    /** Marks {@code slot} kept for {@code token}: a dead process that still holds blocks. */
    public void markKept(int slot, long token) {
        if (!kept(slot, token)) {
            memory.putLongRelease(slotOffset(slot) + KEPT, token);
        }
    }

    /** One of {@code slot}'s buddy-cache words: {@link #CACHED_BYTES}, {@link #CACHE_ALLOCATIONS} or {@link #CACHE_FREES}. */
    public long cacheWord(int slot, int field) {
        return memory.getLongVolatile(slotOffset(slot) + field);
    }

    /** Publishes one of {@code slot}'s buddy-cache words: only its process, or a survivor settling it (see the class comment). */
    public void putCacheWord(int slot, int field, long value) {
        memory.putLongRelease(slotOffset(slot) + field, value);
    }

    /** Replaces one of {@code slot}'s buddy-cache words if it still reads {@code expected}: a survivor settling a dead slot. */
    public boolean compareAndSetCacheWord(int slot, int field, long expected, long value) {
        return memory.compareAndSetLong(slotOffset(slot) + field, expected, value);
    }

    /** The sum of one buddy-cache word over every occupied slot. */
    public long sumOfCacheWord(int field) {
        long sum = 0;
        for (int slot = 0; slot < SLOT_COUNT; slot++) {
            if (tokenAt(slot) != 0) {
                sum += cacheWord(slot, field);
            }
        }
        return sum;
    }

    /**
     * One occupied slot: its process's pid and start ticks (the low 32 bits of its token), when it
     * registered, and whether it still runs.
     */
    public record Entry(int pid, long startTicks, long attachedMillis, boolean alive) {
    }

    public List<Entry> entries() {
        List<Entry> entries = new ArrayList<>();
        for (int slot = 0; slot < SLOT_COUNT; slot++) {
            long offset = slotOffset(slot);
            long token = memory.getLongVolatile(offset + TOKEN);
            if (token != 0) {
                entries.add(new Entry(ProcessTokens.pidOf(token), token & 0xFFFF_FFFFL,
                        memory.getLongVolatile(offset + ATTACHED_MILLIS), ProcessTokens.isAlive(token)));
            }
        }
        return entries;
    }

    private long slotOffset(int slot) {
        return tableOffset + (long) slot * SLOT_LENGTH;
    }
}
