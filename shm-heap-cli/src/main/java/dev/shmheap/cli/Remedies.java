package dev.shmheap.cli;

import dev.shmheap.VerifyReport;

/**
 * How the command line names what settles a state: by its own command ({@code 'shm-heap reclaim'}),
 * never by the library method, which the library's own messages name. Every CLI line that
 * says how to free dead processes' blocks or adopt their sets takes its words from here.
 */
final class Remedies {
    /** What frees the blocks of processes that no longer run. */
    static final String RECLAIM = "'shm-heap reclaim' frees them";
    /** What adopts the slab sets of processes that no longer run. */
    static final String RECOVER = "'shm-heap recover' adopts them";

    private Remedies() {
    }

    /** {@link #RECLAIM}, adding that opening a heap created with --reclaim-dead frees them too. */
    static String reclaim(boolean reclaimsDead) {
        return RECLAIM + (reclaimsDead ? ", as will the next process that opens the heap (created with --reclaim-dead)" : "");
    }

    /** A verify note in the command line's words: its fact, then the command that settles it. */
    static String note(VerifyReport.Note note, boolean reclaimsDead) {
        return switch (note.remedy()) {
            case NONE -> note.fact();
            case RECLAIM_DEAD -> note.fact() + " (" + reclaim(reclaimsDead) + ")";
            case RECOVER -> note.fact() + " (" + RECOVER + ")";
        };
    }
}
