package dev.shmheap.cli;

/**
 * The exit codes of every {@code shm-heap} command, so that scripts can tell "the heap has a
 * problem" from "that is not a heap at all".
 */
final class ExitCodes {
    /** The command did what it was asked; {@code verify} found the heap consistent. */
    static final int OK = 0;
    /**
     * The heap was opened but the command found a problem or refused: {@code verify} found
     * inconsistencies, {@code recover} met a lock held by a live process, an operation met
     * corrupt metadata, or an unexpected error occurred.
     */
    static final int PROBLEM = 1;
    /**
     * The file cannot be used as a heap (missing, not a heap, another format version,
     * truncated, corrupt header, no permission, already exists for {@code create}) or the
     * command line is wrong (unknown option, bad size).
     */
    static final int UNUSABLE = 2;
    /**
     * {@code verify --timeout}: no consistent look at the heap within the time given, because a
     * live process held a lock or the heap changed during every walk. Nothing is known to be
     * wrong; try again.
     */
    static final int BUSY = 3;

    private ExitCodes() {
    }
}
