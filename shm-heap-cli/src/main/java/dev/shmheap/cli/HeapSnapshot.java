package dev.shmheap.cli;

import dev.shmheap.AttachedProcess;
import dev.shmheap.HeapStats;
import dev.shmheap.HeapObserver;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@code stats} and {@code top} show of a heap at one moment.
 *
 * @param file        the heap file as given on the command line
 * @param fileLength  bytes of the file: capacity plus metadata
 * @param stats       the shared counters
 * @param processes   the process table; this command's own entry is among them
 * @param selfPid     the pid of this command, to mark its own entry
 * @param takenMillis when the snapshot was taken, epoch milliseconds
 * @param reclaimsDead whether the heap was created with --reclaim-dead ({@link HeapObserver#reclaimsDead()})
 */
record HeapSnapshot(Path file, long fileLength, HeapStats stats, List<AttachedProcess> processes, long selfPid, long takenMillis,
                    boolean reclaimsDead) {
    HeapSnapshot {
        processes = List.copyOf(processes);
    }

    static HeapSnapshot of(HeapObserver heap) {
        return new HeapSnapshot(heap.path(), heap.fileLength(), heap.stats(), heap.attachedProcesses(), ProcessHandle.current().pid(),
                System.currentTimeMillis(), heap.reclaimsDead());
    }

    long aliveProcesses() {
        return processes.stream().filter(AttachedProcess::alive).count();
    }
}
