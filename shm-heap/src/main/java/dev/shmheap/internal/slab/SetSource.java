package dev.shmheap.internal.slab;

/**
 * Where slab sets come from and go back to: the buddy allocator, behind its lock. Keeping this
 * an interface lets the slab layer stay free of locking.
 */
public interface SetSource {
    long NO_SET = -1;

    /** A USED buddy block of {@code order}, as its first page, or {@link #NO_SET}. */
    long takeSet(int order);

    /** Gives back the USED buddy block whose head is {@code page}. */
    void returnSet(long page);
}
