package dev.shmheap.cli;

import dev.shmheap.HeapObserver;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

@Command(name = "stats",
        description = {"Show capacity, use and fragmentation of a heap.",
                "Per size class: sets, blocks used and total, bytes, allocations and frees; free buddy blocks per order; "
                        + "the largest free block; the attached processes. Only reads the file: read permission is enough "
                        + "and no byte changes."})
final class StatsCommand extends HeapCommand {
    enum Format { TABLE, JSON, PROMETHEUS }

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "table",
            description = "table (for people), json (one document, schema in docs/CLI.md) or prometheus (the text exposition "
                    + "format, for the node exporter's textfile collector). Default: ${DEFAULT-VALUE}.")
    Format format = Format.TABLE;

    @Option(names = "--json", description = "The same as --format json.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (json && format != Format.TABLE && format != Format.JSON) {
            throw new ParameterException(spec.commandLine(), "--json and --format " + format.name().toLowerCase(java.util.Locale.ROOT)
                    + " contradict each other");
        }
        HeapSnapshot snapshot;
        try (HeapObserver heap = openToRead()) {
            snapshot = HeapSnapshot.of(heap);
        }
        switch (json ? Format.JSON : format) {
            case JSON -> out().println(StatsReport.json(snapshot));
            case PROMETHEUS -> out().print(PrometheusReport.of(snapshot));
            default -> StatsReport.printTable(snapshot, out());
        }
        out().flush();
        return ExitCodes.OK;
    }
}
