package dev.shmheap;

/**
 * A look at the heap that does not take its locks (a read-only {@link ShmHeap#verify()}, or
 * {@link ShmHeap#verify(java.time.Duration)}) could not get a consistent snapshot in the time
 * it was given: a live process held a lock the whole time, or the heap changed during every
 * walk. Nothing is wrong with the heap; try again later or give more time.
 */
public class HeapBusyException extends ShmHeapException {
    private static final long serialVersionUID = 1L;

    public HeapBusyException(String message) {
        super(message);
    }
}
