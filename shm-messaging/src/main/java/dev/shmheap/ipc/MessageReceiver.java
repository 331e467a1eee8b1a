package dev.shmheap.ipc;

import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The receiving end of a message transport. A received {@link Message} names a heap block that
 * now belongs to the caller: read it in place, then free it.
 *
 * <p>Implementations are meant for one receiving thread.
 */
public interface MessageReceiver extends AutoCloseable {
    /** The next message, or empty if none is ready; never waits. */
    Optional<Message> poll();

    /**
     * The next message, waiting up to {@code timeout} for one.
     *
     * @throws InterruptedException if the thread is interrupted while waiting
     */
    Optional<Message> poll(long timeout, TimeUnit unit) throws InterruptedException;

    /** Detaches from the transport; undelivered messages stay queued for a later receiver. */
    @Override
    void close();
}
