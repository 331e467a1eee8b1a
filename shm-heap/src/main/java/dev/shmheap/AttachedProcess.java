package dev.shmheap;

import dev.shmheap.internal.lock.ProcessTable;

import java.util.List;

/**
 * One heap instance registered in the heap's process table.
 *
 * @param pid            the process id
 * @param startTicks     low 32 bits of the process start time (clock ticks since boot), which
 *                       tells a reused pid from the process that registered
 * @param attachedMillis when it attached, epoch milliseconds
 * @param alive          whether that process still runs
 */
public record AttachedProcess(int pid, long startTicks, long attachedMillis, boolean alive) {
    /** The process table's entries as the API reports them. */
    static List<AttachedProcess> of(List<ProcessTable.Entry> entries) {
        return entries.stream().map(e -> new AttachedProcess(e.pid(), e.startTicks(), e.attachedMillis(), e.alive())).toList();
    }
}
