package dev.shmheap.ipc;

/**
 * A message as a transport hands it over: the first {@code length} bytes of the heap block at
 * {@code offset}. The block belongs to whoever holds the message: the sender until an offer
 * succeeds, the receiver from the moment {@code poll} returns it (the receiver frees it with
 * {@link dev.shmheap.ShmHeap#free(long)}, from any process).
 *
 * @param offset the block's offset in the heap file, as {@code ShmHeap.allocate} returned it
 * @param length bytes of the block that carry the message, {@code 1 <= length <= usableSize(offset)}
 */
public record Message(long offset, long length) {
}
