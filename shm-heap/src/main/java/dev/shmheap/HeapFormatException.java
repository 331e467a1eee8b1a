package dev.shmheap;

/**
 * A file cannot be opened as a heap: it is missing, is not a heap, has another format
 * version or layout, is truncated, or its header fails its checksum. The message names the
 * file, what was found and what was expected.
 */
public class HeapFormatException extends ShmHeapException {
    private static final long serialVersionUID = 1L;

    public HeapFormatException(String message) {
        super(message);
    }

    public HeapFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
