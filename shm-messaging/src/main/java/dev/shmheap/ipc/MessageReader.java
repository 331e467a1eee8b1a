package dev.shmheap.ipc;

/**
 * Reads messages in place from {@link ShmReceiver#read(MessageReader, int)}, inline and offset
 * messages alike, without an object per message.
 */
@FunctionalInterface
public interface MessageReader {
    /**
     * One message: the {@code length} bytes at heap offset {@code offset} (read them with the
     * heap's accessors).
     *
     * @param inline true if the bytes are inside the channel's ring: they are valid only during
     *               this call (the slot is released when the batch ends); false if they are a heap
     *               block of their own
     * @return for an offset message, true to keep its block (the reader now owns it: it frees it
     *         or passes it on), false to let the receiver free it after the batch; ignored for
     *         inline messages. A kept block stays handed off (see {@code ShmHeap.handOff}), so it
     *         is never reclaimed: a reader whose process should hold it calls
     *         {@code ShmHeap.takeOver} once {@code read} has returned (not during this call: the
     *         slot still names the block until the batch ends, and a reader killed then would
     *         have the block delivered again after it was reclaimed)
     */
    boolean onMessage(long offset, long length, boolean inline);
}
