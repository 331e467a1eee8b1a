package dev.shmheap.internal.slab;

/**
 * Where slab sets come from and go back to: the buddy allocator, behind its lock. Keeping this
 * an interface lets the slab layer stay free of locking.
 */
public interface SetSource {
    long NO_SET = -1;

    /**
     * A buddy block of {@code 2^layout.setGroupOrder(sizeClass)} pages for sets of class
     * {@code sizeClass}, stripe {@code stripe}, each already committed as an empty, unlinked
     * set head; its first page, or {@link #NO_SET}.
     */
    long takeSet(int sizeClass, int stripe);

    /** Gives back the empty set whose head is {@code page}; its other pages are already cleared. */
    void returnSet(long page);
}
