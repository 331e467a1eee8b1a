package dev.shmheap.cli;

import dev.shmheap.HeapObserver;
import dev.shmheap.Holdings;
import dev.shmheap.ProcessHoldings;
import dev.shmheap.ShmHeap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "quota",
        description = {"Show or set the per-process quota: the most bytes one process may hold.",
                "Without SIZE, prints the quota and what each process holds (read permission is enough). With SIZE, "
                        + "sets it for every process attached to the heap (write access needed): a request beyond it fails "
                        + "with HeapFullException naming the quota. Blocks already held are not taken away."})
final class QuotaCommand extends HeapCommand {
    @Parameters(index = "1", arity = "0..1", paramLabel = "SIZE", converter = QuotaConverter.class,
            description = "New quota: bytes, or a number with k, m, g or t (e.g. 64m); 'none' or 0 removes it.")
    Long quota;

    @Override
    public Integer call() throws Exception {
        if (quota == null) {
            try (HeapObserver heap = openToRead()) {
                out().println(heap.path() + ": " + describe(heap.processQuota()));
                printOver(heap.holdings(), heap.processQuota());
            }
        } else {
            try (ShmHeap heap = openHeap()) {
                long previous = heap.processQuota();
                heap.setProcessQuota(quota);
                out().println(heap.path() + ": " + describe(heap.processQuota()) + " (was " + (previous == 0 ? "none" : previous + " bytes") + ")");
                printOver(heap.holdings(), heap.processQuota());
            }
        }
        out().flush();
        return ExitCodes.OK;
    }

    static String describe(long quota) {
        return quota == 0 ? "no process quota" : "process quota " + quota + " bytes (" + Sizes.human(quota) + ")";
    }

    /** Live processes that already hold more than the quota: they keep it, but get no more. */
    private void printOver(Holdings holdings, long quota) {
        if (quota == 0) {
            return;
        }
        for (ProcessHoldings p : holdings.processes()) {
            if (p.alive() && p.bytes() > quota) {
                out().println("  pid " + p.pid() + " already holds " + p.bytes() + " bytes (" + Sizes.human(p.bytes())
                        + "), over the quota: its next allocation fails");
            }
        }
    }

    static final class QuotaConverter implements picocli.CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            if (value.equalsIgnoreCase("none")) {
                return 0L;
            }
            return new CreateCommand.SizeConverter().convert(value);
        }
    }
}
