package dev.shmheap.ipc;

import java.util.concurrent.TimeUnit;

/**
 * The sending end of a message transport. Messages live in a heap block (see {@link Message}):
 * a successful offer transfers the block to the receiving side, a failed one leaves it with the
 * caller. The shared-memory channel ({@link ShmChannel}) passes only the offset; a network
 * transport would copy the block's bytes out and free it.
 *
 * <p>Implementations are meant for one sending thread each.
 */
public interface MessageSender extends AutoCloseable {
    /**
     * Hands the message over without waiting.
     *
     * @return true if the message was accepted (the block now belongs to the receiver), false
     *         if the transport is full right now (backpressure: retry later or drop)
     * @throws IllegalArgumentException if {@code offset} is not a live block of the heap or
     *                                  {@code length} is not in {@code 1..usableSize(offset)}
     */
    boolean offer(long offset, long length);

    /**
     * Like {@link #offer(long, long)} but waits up to {@code timeout} for space.
     *
     * @return false if the transport stayed full until the deadline
     * @throws InterruptedException if the thread is interrupted while waiting
     */
    boolean offer(long offset, long length, long timeout, TimeUnit unit) throws InterruptedException;

    /** Detaches from the transport; messages already accepted are still delivered. */
    @Override
    void close();
}
