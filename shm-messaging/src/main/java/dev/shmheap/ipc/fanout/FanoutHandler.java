package dev.shmheap.ipc.fanout;

/**
 * Receives fan-out messages in place: the first {@code length} bytes of the heap block at
 * {@code offset}, shared with every other subscriber. Valid only during the call: read it, do
 * not write or free it (the channel frees it once every subscriber has passed it).
 */
@FunctionalInterface
public interface FanoutHandler {
    void onMessage(long position, long offset, long length);
}
