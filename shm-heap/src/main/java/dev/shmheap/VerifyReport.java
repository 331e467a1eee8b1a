package dev.shmheap;

import java.util.List;

/**
 * What {@link ShmHeap#verify()} checked and every problem it found. {@link #ok()} is true when
 * there is no problem; notes (for example a dead process still registered) do not count as
 * problems.
 *
 * @param blocks       blocks visited by the page-map walk
 * @param freeBytes    bytes in free buddy blocks, recounted
 * @param usedBytes    bytes in blocks handed out, recounted
 * @param problems     inconsistencies, each with its kind, file offset and page
 * @param notes        facts worth knowing that are not inconsistencies
 * @param deadHoldings per process that no longer runs, the blocks it still holds (kept in a
 *                     heap without {@code RECLAIM_DEAD} until {@code reclaimDead()}; a note each)
 */
public record VerifyReport(long blocks, long freeBytes, long usedBytes, List<Problem> problems, List<String> notes,
                           List<ProcessHoldings> deadHoldings) {
    public VerifyReport {
        problems = List.copyOf(problems);
        notes = List.copyOf(notes);
        deadHoldings = List.copyOf(deadHoldings);
    }

    public boolean ok() {
        return problems.isEmpty();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(ok() ? "heap OK" : "heap INCONSISTENT: " + problems.size() + " problem(s)");
        sb.append(" (").append(blocks).append(" blocks, ").append(usedBytes).append(" bytes used, ").append(freeBytes).append(" bytes free)");
        for (Problem p : problems) {
            sb.append("\n  problem: ").append(p);
        }
        for (String n : notes) {
            sb.append("\n  note: ").append(n);
        }
        return sb.toString();
    }
}
