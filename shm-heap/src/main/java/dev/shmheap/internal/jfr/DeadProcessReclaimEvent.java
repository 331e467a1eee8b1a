package dev.shmheap.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** Blocks held by processes that no longer run, freed by one settle of the dead (open, recover, reclaim, before a heap-full error). */
@Name("dev.shmheap.DeadProcessReclaim")
@Label("Dead Process Reclaim")
@Category("shm-heap")
@Description("Blocks of processes that died without closing the heap, freed")
@StackTrace(false)
public final class DeadProcessReclaimEvent extends jdk.jfr.Event {
    @Label("Heap")
    String heap;

    @Label("Dead Processes")
    @Description("The dead processes settled, as pid (slot), comma-separated")
    String deadProcesses;

    @Label("Blocks")
    long blocks;

    @Label("Bytes")
    @DataAmount
    long bytes;
}
