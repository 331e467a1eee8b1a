package dev.shmheap;

import java.util.List;

/**
 * What {@link ShmHeap#verify()} checked and every problem it found. {@link #ok()} is true when
 * there is no problem; notes (for example a dead process still registered) do not count as
 * problems.
 *
 * @param blocks       page-map blocks the walk visited: free buddy blocks, buddy blocks in use
 *                     and slab sets, each counted once (a slab set of many user blocks is one)
 * @param userBlocks   live blocks handed out to users: used blocks of slab sets plus buddy
 *                     blocks in use, what {@code allocate} returned and {@code free} did not take back
 * @param freeBytes    bytes in free buddy blocks, recounted
 * @param usedBytes    bytes in blocks handed out, recounted
 * @param problems     inconsistencies, each with its kind, file offset and page
 * @param notes        facts worth knowing that are not inconsistencies, each with what would
 *                     settle it
 * @param deadHoldings per process that no longer runs, the blocks it still holds (kept in a
 *                     heap without {@code RECLAIM_DEAD} until {@code reclaimDead()}; a note each)
 */
public record VerifyReport(long blocks, long userBlocks, long freeBytes, long usedBytes, List<Problem> problems, List<Note> notes,
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
        sb.append(" (").append(userBlocks).append(" user blocks in ").append(blocks).append(" page-map blocks, ")
                .append(usedBytes).append(" bytes used, ").append(freeBytes).append(" bytes free)");
        for (Problem p : problems) {
            sb.append("\n  problem: ").append(p);
        }
        for (Note n : notes) {
            sb.append("\n  note: ").append(n);
        }
        return sb.toString();
    }

    /**
     * A fact about the heap that is not an inconsistency, and what settles it. The fact names
     * no remedy: the library's {@link #toString()} names the {@code ShmHeap} method, the
     * command line names its own command.
     */
    public record Note(String fact, Remedy remedy) {
        @Override
        public String toString() {
            return remedy == Remedy.NONE ? fact : fact + " (" + remedy.method() + ")";
        }
    }

    /** What settles a {@link Note}, named as the library's method. */
    public enum Remedy {
        /** Nothing to do; the note is for information. */
        NONE(""),
        /** Blocks held by a process that no longer runs: {@link ShmHeap#reclaimDead()} frees them. */
        RECLAIM_DEAD("ShmHeap.reclaimDead() frees them"),
        /** Slab sets owned by a process that no longer runs: {@link ShmHeap#recover()} adopts them. */
        RECOVER("ShmHeap.recover() adopts them");

        private final String method;

        Remedy(String method) {
            this.method = method;
        }

        /** The remedy in the library's words, naming the {@code ShmHeap} method. */
        public String method() {
            return method;
        }
    }
}
