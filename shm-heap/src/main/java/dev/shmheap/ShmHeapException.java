package dev.shmheap;

/** Base of the exceptions that say a heap file or its state is at fault. */
public class ShmHeapException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ShmHeapException(String message) {
        super(message);
    }

    public ShmHeapException(String message, Throwable cause) {
        super(message, cause);
    }
}
