package dev.shmheap.internal.lock;

import dev.shmheap.AttachedProcess;
import dev.shmheap.ShmHeapException;
import dev.shmheap.internal.memory.MappedMemory;

import java.util.ArrayList;
import java.util.List;

/**
 * The table of processes attached to a heap: 128 slots of 32 bytes right after the header.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Process token (64): pid, start time; 0 = free        |  0
 *  +---------------------------------------------------------------+
 *  |          Attach time, epoch ms (64)                           |  8
 *  +---------------------------------------------------------------+
 *  |          reserved, zero (128)                                 | 16
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>A slot is claimed with one CAS of its token word, from 0 or from the token of a process
 * that is dead, and freed with one CAS back to 0; a process killed at any point leaves either
 * its token (seen as dead) or nothing. Each open heap instance holds one slot.
 */
public final class ProcessTable {
    public static final int SLOT_LENGTH = 32;
    public static final int SLOT_COUNT = 128;
    public static final int TOKEN = 0;
    public static final int ATTACHED_MILLIS = 8;

    private final MappedMemory memory;
    private final long tableOffset;

    public ProcessTable(MappedMemory memory, long tableOffset) {
        this.memory = memory;
        this.tableOffset = tableOffset;
    }

    /** Claims a slot for {@code token} and returns its index. */
    public int register(long token) {
        for (int pass = 0; pass < 2; pass++) {
            for (int slot = 0; slot < SLOT_COUNT; slot++) {
                long offset = slotOffset(slot);
                long current = memory.getLongVolatile(offset + TOKEN);
                boolean claimable = current == 0 || (pass == 1 && current != token && !ProcessIdentity.isAlive(current));
                if (claimable && memory.compareAndSetLong(offset + TOKEN, current, token)) {
                    memory.putLongRelease(offset + ATTACHED_MILLIS, System.currentTimeMillis());
                    return slot;
                }
            }
        }
        throw new ShmHeapException("the process table is full: " + SLOT_COUNT + " live attachments");
    }

    /** The token in {@code slot}, 0 when free. */
    public long tokenAt(int slot) {
        return memory.getLongVolatile(slotOffset(slot) + TOKEN);
    }

    /** Whether {@code slot} holds a process that still runs. */
    public boolean slotAlive(int slot) {
        long token = tokenAt(slot);
        return token != 0 && ProcessIdentity.isAlive(token);
    }

    public void deregister(int slot, long token) {
        memory.compareAndSetLong(slotOffset(slot) + TOKEN, token, 0);
    }

    /** Frees the slots of processes that no longer run; returns how many. */
    public int removeDead() {
        int removed = 0;
        for (int slot = 0; slot < SLOT_COUNT; slot++) {
            long offset = slotOffset(slot);
            long token = memory.getLongVolatile(offset + TOKEN);
            if (token != 0 && !ProcessIdentity.isAlive(token) && memory.compareAndSetLong(offset + TOKEN, token, 0)) {
                removed++;
            }
        }
        return removed;
    }

    public List<AttachedProcess> entries() {
        List<AttachedProcess> entries = new ArrayList<>();
        for (int slot = 0; slot < SLOT_COUNT; slot++) {
            long offset = slotOffset(slot);
            long token = memory.getLongVolatile(offset + TOKEN);
            if (token != 0) {
                entries.add(new AttachedProcess(ProcessIdentity.pidOf(token), token & 0xFFFF_FFFFL,
                        memory.getLongVolatile(offset + ATTACHED_MILLIS), ProcessIdentity.isAlive(token)));
            }
        }
        return entries;
    }

    private long slotOffset(int slot) {
        return tableOffset + (long) slot * SLOT_LENGTH;
    }
}
