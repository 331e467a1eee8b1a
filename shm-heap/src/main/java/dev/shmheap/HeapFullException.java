package dev.shmheap;

/**
 * The heap cannot satisfy a request now: no free block is large enough, or (for a sparse heap)
 * the filesystem could not reserve backing store for it. Expected under load; the heap stays
 * usable, and frees make room again.
 */
public class HeapFullException extends ShmHeapException {
    private static final long serialVersionUID = 1L;
    private final long requestedSize;
    private final long requestedAlignment;
    private final long availableBytes;

    public HeapFullException(String message, long requestedSize, long requestedAlignment, long availableBytes) {
        super(message);
        this.requestedSize = requestedSize;
        this.requestedAlignment = requestedAlignment;
        this.availableBytes = availableBytes;
    }

    public long requestedSize() {
        return requestedSize;
    }

    public long requestedAlignment() {
        return requestedAlignment;
    }

    /** The heap's available bytes when the request failed (scattered over many blocks). */
    public long availableBytes() {
        return availableBytes;
    }
}
