package dev.shmheap;

/**
 * Metadata read from the file contradicts itself (a link out of range, a free-list entry
 * that is not free, ...). The operation that found it changed nothing; {@link ShmHeap#verify()}
 * lists every such problem.
 */
public class HeapCorruptedException extends ShmHeapException {
    private static final long serialVersionUID = 1L;

    public HeapCorruptedException(String message) {
        super(message);
    }
}
