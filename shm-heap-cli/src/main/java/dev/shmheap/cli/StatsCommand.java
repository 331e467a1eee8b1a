package dev.shmheap.cli;

import dev.shmheap.ShmHeap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "stats",
        description = {"Show capacity, use and fragmentation of a heap.",
                "Per size class: sets, blocks used and total, bytes, allocations and frees; free buddy blocks per order; "
                        + "the largest free block; the attached processes."})
final class StatsCommand extends HeapCommand {
    @Option(names = "--json", description = "Print one JSON document (schema in the README) instead of tables.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        HeapSnapshot snapshot;
        try (ShmHeap heap = openHeap()) {
            snapshot = HeapSnapshot.of(heap);
        }
        if (json) {
            out().println(StatsReport.json(snapshot));
        } else {
            StatsReport.printTable(snapshot, out());
        }
        out().flush();
        return ExitCodes.OK;
    }
}
