package dev.shmheap;

import java.util.Objects;

/**
 * One inconsistency {@link ShmHeap#verify()} found: what kind of structure is at fault, where
 * it lies in the file, and a sentence that says what was found and what was expected.
 *
 * @param kind    the structure at fault
 * @param offset  file offset of the word or block at fault (a header field, a lock word, the
 *                first byte of a data page), or {@link #NO_OFFSET} when the problem has no
 *                single place (a recount over the whole page map)
 * @param page    index of the data page at fault (page {@code p} starts at file offset
 *                {@link ShmHeap#dataOffset()} {@code + p * 4096}), or {@link #NO_PAGE}
 * @param message what was found and what was expected, naming pages, offsets and values
 */
public record Problem(Kind kind, long offset, long page, String message) {
    /** {@link #offset()} of a problem that has no single place in the file. */
    public static final long NO_OFFSET = -1;
    /** {@link #page()} of a problem that is not about one data page. */
    public static final long NO_PAGE = -1;

    /** The structure a problem is about; {@code docs/CLI.md} lists them with examples. */
    public enum Kind {
        /** A lock word is held by a process that no longer runs; what it protects may be half-updated. */
        DEAD_LOCK_OWNER,
        /** A page-map entry cannot be read as the head of a block, or the walk does not cover the data region. */
        PAGE_MAP,
        /** A slab set's page-map entries disagree with its head (class, stripe, links). */
        SLAB_SET,
        /** A buddy free list (a link, a member, a block missing from it) disagrees with the page map. */
        FREE_LIST,
        /** A partial-set list of a size class disagrees with the page map. */
        PARTIAL_LIST,
        /** A counter in the header disagrees with a recount from the page map. */
        COUNTER,
        /** A block is handed out in a sparse heap but its data extent has no reserved backing store. */
        UNRESERVED_EXTENT,
        /** A name-directory entry is corrupt or names something that is not a live block. */
        NAME_DIRECTORY,
        /** A live block's holder record names no holder, or a process-table slot that is free. */
        HOLDER,
        /** Stands for the problems left out after the first 200. */
        MORE
    }

    public Problem {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(message, "message");
        if (offset < NO_OFFSET || page < NO_PAGE) {
            throw new IllegalArgumentException("offset=" + offset + " page=" + page + ": each is -1 (none) or not negative");
        }
    }

    @Override
    public String toString() {
        return message + (offset == NO_OFFSET ? "" : " [" + kind + " at offset " + offset + "]");
    }
}
