package dev.shmheap.cli;

import dev.shmheap.ShmHeap;
import dev.shmheap.VerifyReport;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

@Command(name = "verify",
        description = {"Check the heap's metadata and list every problem with its offset.",
                "Compares free lists, partial-set lists and header counters with the page map. Waits for locks "
                        + "that live processes hold; reports locks held by dead ones (repair them with recover)."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the heap is consistent", "1:it is not (each problem is printed)", "2:the file cannot be read as a heap"})
final class VerifyCommand extends HeapCommand {
    @Override
    public Integer call() throws Exception {
        try (ShmHeap heap = openHeap()) {
            VerifyReport report = heap.verify();
            print(report, heap, out());
            return report.ok() ? ExitCodes.OK : ExitCodes.PROBLEM;
        }
    }

    /** The verdict, what was checked, every problem (with offsets) and every note. */
    static void print(VerifyReport report, ShmHeap heap, PrintWriter out) {
        out.println(heap.path() + ": " + (report.ok() ? "OK" : "INCONSISTENT, " + report.problems().size() + " problem(s)"));
        out.println("checked " + report.blocks() + " blocks covering " + heap.capacity() + " bytes of data at offsets " + dataOffset(heap)
                + ".." + heap.fileLength() + ": " + report.usedBytes() + " bytes used, " + report.freeBytes() + " bytes free;"
                + " free lists, partial-set lists and header counters against the page map");
        for (String problem : report.problems()) {
            out.println("problem: " + ProblemOffsets.annotate(problem, dataOffset(heap)));
        }
        for (String note : report.notes()) {
            out.println("note: " + note);
        }
        out.flush();
    }
}
