package dev.shmheap.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * A lock word of a heap taken over from a process that died holding it (or that a failed
 * section left marked for repair), and the repair of what it protects. The event's duration
 * runs from the takeover to the end of the repair.
 */
@Name("dev.shmheap.LockTakeover")
@Label("Lock Takeover")
@Category("shm-heap")
@Description("A lock of a shared heap taken over from a dead owner, and the repair of the structure it protects")
@StackTrace(false)
public final class LockTakeoverEvent extends jdk.jfr.Event {
    @Label("Lock")
    @Description("Which lock, and of which heap file")
    String lock;

    @Label("Dead Owner PID")
    @Description("The pid of the process that died holding the lock; 0 when a failed section marked it for repair")
    int deadOwnerPid;

    @Label("Dead Owner")
    @Description("The dead owner as pid and start time, which tells a reused pid apart")
    String deadOwner;

    @Label("Repair")
    @Description("What was rebuilt before the lock was used")
    String repair;
}
