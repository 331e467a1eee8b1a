package dev.shmheap.cli;

import dev.shmheap.RecoveryReport;
import dev.shmheap.ShmHeap;
import dev.shmheap.VerifyReport;
import picocli.CommandLine.Command;

@Command(name = "recover",
        description = {"Repair the heap after processes died in it.",
                "Takes over the locks of dead processes, rebuilds free lists and counters from the page map, drops dead "
                        + "processes from the process table, frees the blocks of dead processes in a heap created with "
                        + "--reclaim-dead (else lists them as kept), then verifies. Refuses (exit 1, nothing changed) if a live "
                        + "process holds a lock for more than a second."})
final class RecoverCommand extends HeapCommand {
    @Override
    public Integer call() throws Exception {
        try (ShmHeap heap = openHeap()) {
            RecoveryReport report;
            try {
                report = heap.recover();
            } catch (IllegalStateException e) {
                throw new Failures.CommandFailure(e.getMessage() + "; nothing was changed. Retry when it has released the lock.",
                        ExitCodes.PROBLEM);
            }
            out().println(heap.path() + ": recovered");
            Table table = Table.withoutHeader(2).left(0);
            table.row("locks taken over from dead processes", report.locksTakenOver());
            table.row("dead processes removed from the process table", report.deadProcessesRemoved());
            table.row("free buddy blocks relinked on rebuilt free lists", report.freeBlocksRelinked());
            table.row("blocks of dead processes reclaimed", report.reclaimedBlocks());
            table.row("bytes of dead processes reclaimed", report.reclaimedBytes());
            table.print(out(), "  ");
            out().println(heap.reclaimsDead()
                    ? "blocks of dead processes: freed (the heap was created with --reclaim-dead)"
                    : "blocks of dead processes: kept (the heap was created without --reclaim-dead; " + Remedies.RECLAIM + ")");
            if (!report.deadHoldings().isEmpty()) {
                out().println("kept:");
                ReclaimCommand.holdingsTable(report.deadHoldings()).print(out(), "  ");
            }
            out().println();
            VerifyReport after = heap.verify();
            out().print("after recovery, ");
            VerifyCommand.print(after, HeapShape.of(heap), out());
            return after.ok() ? ExitCodes.OK : ExitCodes.PROBLEM;
        }
    }
}
