package dev.shmheap.ipc;

/**
 * Receives messages from {@link ShmReceiver#poll(MessageHandler, int)} without an object per
 * message: the first {@code length} bytes of the heap block at {@code offset}, which belongs to
 * the handler from this call on (read it in place, then free it or pass it on).
 */
@FunctionalInterface
public interface MessageHandler {
    void onMessage(long offset, long length);
}
