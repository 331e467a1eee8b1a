package dev.shmheap.ipc.bridge;

import dev.shmheap.Backoff;
import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.MessageSender;
import io.aeron.Publication;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.concurrent.TimeUnit;

/**
 * A {@link MessageSender} over an Aeron publication (UDP between hosts): an accepted offer copies
 * the block's bytes into the publication's log and frees the block; a refused one leaves it with
 * the caller. One offer is one Aeron message, so boundaries are kept (Aeron fragments and
 * reassembles messages above the MTU), and the order of offers is the order of delivery.
 *
 * <p>Refusals follow what Aeron reports: {@link State#NOT_CONNECTED} (no subscriber, or the peer
 * stopped answering), {@link State#BACK_PRESSURED} (the receiver's window is full),
 * {@link State#ADMIN_ACTION} (a term rotation; retry). A closed publication or an exhausted
 * stream is not retryable and throws. For one thread.
 */
public final class AeronSender implements MessageSender {
    /** What the last offer got from Aeron. */
    public enum State { SENT, NOT_CONNECTED, BACK_PRESSURED, ADMIN_ACTION }

    private final ShmHeap heap;
    private final Publication publication;
    private final UnsafeBuffer view = new UnsafeBuffer(0, 0);
    private State state = State.SENT;
    private long sent;
    private long notConnected;
    private long backPressured;

    /** Sends blocks of {@code heap} on {@code publication}, which the caller owns and closes. */
    public AeronSender(ShmHeap heap, Publication publication) {
        this.heap = heap;
        this.publication = publication;
    }

    @Override
    public boolean offer(long offset, long length) {
        long usable = heap.usableSize(offset);
        if (length < 1 || length > usable) {
            throw new IllegalArgumentException("length=" + length + " must be in [1, " + usable + "] for the block at offset=" + offset);
        }
        return offerTrusted(offset, length);
    }

    /** Like {@link #offer(long, long)} without asking the heap whether the block is live (blocks straight from a receiver). */
    public boolean offerTrusted(long offset, long length) {
        if (length < 1 || length > publication.maxMessageLength()) {
            throw new IllegalArgumentException("length=" + length + " must be in [1, " + publication.maxMessageLength()
                    + "] (the publication's maxMessageLength, a term length / 8)");
        }
        view.wrap(heap.address(offset), (int) length);
        long result = publication.offer(view, 0, (int) length);
        if (result > 0) {
            state = State.SENT;
            sent++;
            heap.free(offset);
            return true;
        }
        if (result == Publication.NOT_CONNECTED) {
            state = State.NOT_CONNECTED;
            notConnected++;
        } else if (result == Publication.BACK_PRESSURED) {
            state = State.BACK_PRESSURED;
            backPressured++;
        } else if (result == Publication.ADMIN_ACTION) {
            state = State.ADMIN_ACTION;
        } else {
            throw new IllegalStateException("Aeron publication " + publication.channel() + " stream " + publication.streamId()
                    + " cannot send any more: result=" + result + (result == Publication.CLOSED ? " (CLOSED)" : " (MAX_POSITION_EXCEEDED)"));
        }
        return false;
    }

    @Override
    public boolean offer(long offset, long length, long timeout, TimeUnit unit) throws InterruptedException {
        Backoff backoff = BridgeWait.until(unit.toNanos(timeout));
        while (!offer(offset, length)) {
            if (Thread.interrupted()) {
                throw new InterruptedException("offer to " + publication.channel());
            }
            if (!backoff.idle()) {
                return false;
            }
        }
        return true;
    }

    /** What Aeron said to the last offer. */
    public State state() {
        return state;
    }

    public boolean connected() {
        return publication.isConnected();
    }

    public long sent() {
        return sent;
    }

    public long notConnectedRefusals() {
        return notConnected;
    }

    public long backPressuredRefusals() {
        return backPressured;
    }

    /** Does not close the publication: its owner does. */
    @Override
    public void close() {
    }
}
