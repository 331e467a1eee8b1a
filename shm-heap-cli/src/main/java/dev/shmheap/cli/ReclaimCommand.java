package dev.shmheap.cli;

import dev.shmheap.HeapObserver;
import dev.shmheap.HeapStats;
import dev.shmheap.Holdings;
import dev.shmheap.ProcessHoldings;
import dev.shmheap.RecoveryReport;
import dev.shmheap.ShmHeap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.List;

@Command(name = "reclaim",
        description = {"Free the blocks held by processes that no longer run.",
                "Calls ShmHeap.reclaimDead(): every block a dead process still holds is freed and its process-table "
                        + "slot released, whether or not the heap was created with --reclaim-dead. Shared and handed-off "
                        + "blocks and blocks of live processes are never touched. Safe while other processes use the heap; "
                        + "needs write access."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:every dead process's blocks were freed (or there were none)",
                "1:some dead holdings were kept (each is printed)", "2:the file cannot be used as a heap"})
final class ReclaimCommand extends HeapCommand {
    /** Version of the {@code --json} document's layout. */
    static final int SCHEMA = 1;

    @Option(names = "--json", description = "Print one JSON document instead of text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        // What dead processes held before this command attached: opening a heap created with
        // RECLAIM_DEAD already frees their blocks, so the report alone may say 0.
        Holdings before;
        HeapStats statsBefore;
        try (HeapObserver look = openToRead()) {
            statsBefore = look.stats();
            before = statsBefore.holdings();
        }
        try (ShmHeap heap = openHeap()) {
            RecoveryReport report = heap.reclaimDead();
            HeapStats after = heap.stats();
            long atOpenBlocks = Math.max(0, after.reclaimedBlocks() - statsBefore.reclaimedBlocks() - report.reclaimedBlocks());
            long atOpenBytes = Math.max(0, after.reclaimedBytes() - statsBefore.reclaimedBytes() - report.reclaimedBytes());
            if (json) {
                out().println(json(heap, before.dead(), report, atOpenBlocks, atOpenBytes));
            } else {
                print(heap, before.dead(), report, atOpenBlocks, atOpenBytes, out());
            }
            out().flush();
            return report.deadHoldings().isEmpty() ? ExitCodes.OK : ExitCodes.PROBLEM;
        }
    }

    private static void print(ShmHeap heap, List<ProcessHoldings> deadBefore, RecoveryReport report, long atOpenBlocks, long atOpenBytes,
                              PrintWriter out) {
        out.println(heap.path() + ": reclaimed " + report.reclaimedBlocks() + " blocks, " + report.reclaimedBytes() + " bytes ("
                + Sizes.human(report.reclaimedBytes()) + ") held by dead processes");
        if (atOpenBlocks > 0) {
            out.println("  and " + atOpenBlocks + " blocks, " + atOpenBytes + " bytes (" + Sizes.human(atOpenBytes)
                    + (heap.reclaimsDead() ? ") freed when this command opened the heap (created with --reclaim-dead)"
                            : ") freed by another process while this command ran"));
        }
        out.println("  dead processes removed from the process table: " + report.deadProcessesRemoved());
        out.println(heap.reclaimsDead()
                ? "  the heap was created with --reclaim-dead: it also frees dead processes' blocks itself (at open, in recover, "
                        + "before a heap-full error)"
                : "  the heap was created without --reclaim-dead: only 'shm-heap reclaim' frees dead processes' blocks");
        if (!deadBefore.isEmpty()) {
            out.println("dead processes that held blocks:");
            holdingsTable(deadBefore).print(out, "  ");
        }
        if (report.deadHoldings().isEmpty()) {
            out.println("kept: nothing");
        } else {
            out.println("kept (not freed):");
            holdingsTable(report.deadHoldings()).print(out, "  ");
        }
    }

    static Table holdingsTable(List<ProcessHoldings> holdings) {
        Table table = new Table("slot", "pid", "blocks", "bytes", "");
        table.left(4);
        for (ProcessHoldings p : holdings) {
            table.row(p.slot(), p.pid(), p.blocks(), p.bytes(), Sizes.human(p.bytes()));
        }
        return table;
    }

    private static String json(ShmHeap heap, List<ProcessHoldings> deadBefore, RecoveryReport report, long atOpenBlocks, long atOpenBytes) {
        JsonWriter json = new JsonWriter().beginObject()
                .field("schema", SCHEMA)
                .field("file", heap.path().toString())
                .field("reclaimsDead", heap.reclaimsDead())
                .field("reclaimedBlocks", report.reclaimedBlocks())
                .field("reclaimedBytes", report.reclaimedBytes())
                .field("reclaimedAtOpenBlocks", atOpenBlocks)
                .field("reclaimedAtOpenBytes", atOpenBytes)
                .field("deadProcessesRemoved", report.deadProcessesRemoved());
        json.name("deadBefore").beginArray();
        deadBefore.forEach(p -> StatsReport.processHoldingsJson(json, p));
        json.endArray();
        json.name("kept").beginArray();
        report.deadHoldings().forEach(p -> StatsReport.processHoldingsJson(json, p));
        json.endArray();
        return json.endObject().toString();
    }
}
