package dev.shmheap.cli;

import dev.shmheap.HeapBusyException;
import dev.shmheap.Problem;
import dev.shmheap.ProcessHoldings;
import dev.shmheap.HeapObserver;
import dev.shmheap.VerifyReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.time.Duration;

@Command(name = "verify",
        description = {"Check the heap's metadata and list every problem with its kind and file offset.",
                "Compares free lists, partial-set lists and header counters with the page map. Only reads the file "
                        + "(read permission is enough, no byte changes) and takes no lock: it walks the heap until one walk "
                        + "saw a moment with no operation in flight, waiting for live lock holders; a lock held by a dead "
                        + "process is reported (repair it with recover)."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the heap is consistent", "1:it is not (each problem is printed)", "2:the file cannot be read as a heap",
                "3:--timeout passed without a consistent look (a live process held a lock, or the heap kept changing)"})
final class VerifyCommand extends HeapCommand {
    /** Version of the {@code --json} document's layout; see docs/CLI.md. */
    static final int SCHEMA = 1;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = TopCommand.DurationConverter.class,
            description = "Wait at most this long (500ms, 10s, 1m) for live lock holders and a consistent look, then exit 3. "
                    + "Default: wait as long as it takes.")
    Duration timeout;

    @Option(names = "--json", description = "Print one JSON document (schema in docs/CLI.md) instead of text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (HeapObserver heap = openToRead()) {
            VerifyReport report;
            try {
                report = timeout == null ? heap.verify() : heap.verify(timeout);
            } catch (HeapBusyException e) {
                throw new Failures.CommandFailure(e.getMessage(), ExitCodes.BUSY);
            }
            if (json) {
                out().println(json(report, HeapShape.of(heap)));
                out().flush();
            } else {
                print(report, HeapShape.of(heap), out());
            }
            return report.ok() ? ExitCodes.OK : ExitCodes.PROBLEM;
        }
    }

    /** The verdict, what was checked, every problem (with kind and offset) and every note. */
    static void print(VerifyReport report, HeapShape heap, PrintWriter out) {
        out.println(heap.path() + ": " + (report.ok() ? "OK" : "INCONSISTENT, " + report.problems().size() + " problem(s)"));
        out.println(report.userBlocks() + " user blocks live, " + report.usedBytes() + " bytes used, " + report.freeBytes() + " bytes free");
        out.println("checked " + report.blocks() + " page-map blocks (free buddy blocks, buddy blocks in use and slab sets) covering "
                + heap.capacity() + " bytes of data at offsets " + heap.dataOffset() + ".." + heap.fileLength()
                + "; free lists, partial-set lists and header counters against the page map");
        for (Problem problem : report.problems()) {
            out.println("problem: " + describe(problem));
        }
        for (VerifyReport.Note note : report.notes()) {
            out.println("note: " + Remedies.note(note, heap.reclaimsDead()));
        }
        out.flush();
    }

    /** "MESSAGE [KIND at offset N]", or "[KIND]" for a problem without a place. */
    static String describe(Problem problem) {
        return problem.message() + " [" + problem.kind() + (problem.offset() == Problem.NO_OFFSET ? "" : " at offset " + problem.offset()) + "]";
    }

    static String json(VerifyReport report, HeapShape heap) {
        JsonWriter json = new JsonWriter().beginObject()
                .field("schema", SCHEMA)
                .field("file", heap.path().toString())
                .field("ok", report.ok())
                .field("fileLength", heap.fileLength())
                .field("dataOffset", heap.dataOffset())
                .field("capacity", heap.capacity())
                .field("blocks", report.blocks())
                .field("userBlocks", report.userBlocks())
                .field("usedBytes", report.usedBytes())
                .field("freeBytes", report.freeBytes());
        json.name("problems").beginArray();
        for (Problem p : report.problems()) {
            json.beginInlineObject().field("kind", p.kind().name());
            json.name("offset");
            if (p.offset() == Problem.NO_OFFSET) {
                json.value((String) null);
            } else {
                json.value(p.offset());
            }
            json.name("page");
            if (p.page() == Problem.NO_PAGE) {
                json.value((String) null);
            } else {
                json.value(p.page());
            }
            json.field("message", p.message()).endObject();
        }
        json.endArray();
        json.name("notes").beginArray();
        for (VerifyReport.Note note : report.notes()) {
            json.value(Remedies.note(note, heap.reclaimsDead()));
        }
        json.endArray();
        json.name("deadHoldings").beginArray();
        for (ProcessHoldings p : report.deadHoldings()) {
            StatsReport.processHoldingsJson(json, p);
        }
        json.endArray();
        return json.endObject().toString();
    }
}
