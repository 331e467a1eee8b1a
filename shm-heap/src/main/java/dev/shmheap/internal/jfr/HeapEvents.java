package dev.shmheap.internal.jfr;

import java.util.function.LongFunction;
import java.util.function.LongToIntFunction;

/**
 * The one-line calls that emit the heap's JFR events from their sites. Each creates or fills
 * its event only when JFR records that event type ({@code isEnabled()}, {@code shouldCommit()});
 * when it does not, a call costs an object that escape analysis removes and a test of a flag.
 * None is called on the fast path (a block of the thread's current owned set).
 *
 * <p>Takes only plain values, so that the lock and allocator packages depend on this one and
 * not the other way round.
 */
public final class HeapEvents {
    /** A takeover begun by this thread whose repair has not finished yet. */
    private static final ThreadLocal<LockTakeoverEvent> PENDING_TAKEOVER = new ThreadLocal<>();

    private HeapEvents() {
    }

    /**
     * Right after this thread took {@code lock} from its dead owner ({@code deadOwner}, a process
     * token; 0 when a failed section had marked the lock for repair): starts the takeover's event.
     */
    public static void lockTakenOver(String lock, long deadOwner, LongToIntFunction pidOf, LongFunction<String> describe) {
        LockTakeoverEvent event = new LockTakeoverEvent();
        if (!event.isEnabled()) {
            return;
        }
        event.lock = lock;
        event.deadOwnerPid = deadOwner == 0 ? 0 : pidOf.applyAsInt(deadOwner);
        event.deadOwner = deadOwner == 0 ? "none: marked for repair" : describe.apply(deadOwner);
        event.begin();
        PENDING_TAKEOVER.set(event);
    }

    /** Once the lock this thread took over is repaired (or needs none): commits the takeover's event, its duration the repair's. */
    public static void lockRepaired(String repair) {
        LockTakeoverEvent event = PENDING_TAKEOVER.get();
        if (event == null) {
            return;
        }
        PENDING_TAKEOVER.remove();
        event.end();
        if (event.shouldCommit()) {
            event.repair = repair;
            event.commit();
        }
    }

    /** At the start of a settle of the dead: the event that {@link #reclaimed} fills, begun. */
    public static DeadProcessReclaimEvent beginReclaim() {
        DeadProcessReclaimEvent event = new DeadProcessReclaimEvent();
        event.begin();
        return event;
    }

    /**
     * After the dead's blocks were freed: commits {@code event} when any were. {@code deadTokens}
     * is indexed by process-table slot, 0 where the slot was not settled.
     */
    public static void reclaimed(DeadProcessReclaimEvent event, String heap, long[] deadTokens, LongToIntFunction pidOf, long blocks,
                                 long bytes) {
        if (blocks == 0 || !event.shouldCommit()) {
            return;
        }
        StringBuilder dead = new StringBuilder();
        for (int slot = 0; slot < deadTokens.length; slot++) {
            if (deadTokens[slot] != 0) {
                dead.append(dead.length() == 0 ? "" : ", ").append(pidOf.applyAsInt(deadTokens[slot])).append(" (slot ").append(slot).append(')');
            }
        }
        event.heap = heap;
        event.deadProcesses = dead.toString();
        event.blocks = blocks;
        event.bytes = bytes;
        event.commit();
    }

    /** A request the allocator could not meet. */
    public static void heapFull(String heap, long size, long alignment, long buddyFreeBytes) {
        HeapFullEvent event = new HeapFullEvent();
        if (event.shouldCommit()) {
            event.request(heap, size, alignment);
            event.buddyFreeBytes = buddyFreeBytes;
            event.commit();
        }
    }

    /** Where a request leaves the fast path: the event {@link #slowAllocationDone} ends, begun. */
    public static SlowAllocationEvent beginSlowAllocation() {
        SlowAllocationEvent event = new SlowAllocationEvent();
        event.begin();
        return event;
    }

    /** Ends the slow path's event, committing it when it took longer than its threshold; returns {@code offset}. */
    public static long slowAllocationDone(SlowAllocationEvent event, String heap, long size, long alignment, long offset) {
        event.end();
        if (event.shouldCommit()) {
            event.request(heap, size, alignment);
            event.offset = offset;
            event.commit();
        }
        return offset;
    }
}
