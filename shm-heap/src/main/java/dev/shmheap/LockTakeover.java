package dev.shmheap;

import java.nio.file.Path;

/**
 * A lock of the heap that this process took over from a process that died holding it (or that
 * an operation which failed part-way marked for repair), and repaired: what a listener set with
 * {@link ShmHeap#onLockTakeover} is told once the lock has been released again. The heap counts
 * every takeover too, in {@link HeapStats#lockTakeovers()}.
 *
 * @param heap           the heap file
 * @param lock           the lock's name, e.g. "lock of class 64 stripe 0 of /dev/shm/app.heap"
 * @param deadPid        the pid of the process that held it; 0 when it was marked for repair
 * @param deadOwnerToken that process's {@link ProcessIdentity} token; 0 when marked for repair
 * @param atNanos        {@link System#nanoTime()} when this process took it over
 */
public record LockTakeover(Path heap, String lock, int deadPid, long deadOwnerToken, long atNanos) {
    /** Whether the lock was marked for repair by a failed operation rather than left by a dead process. */
    public boolean markedForRepair() {
        return deadOwnerToken == 0;
    }
}
