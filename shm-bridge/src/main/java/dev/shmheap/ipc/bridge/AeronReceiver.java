package dev.shmheap.ipc.bridge;

import dev.shmheap.Backoff;
import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.Message;
import dev.shmheap.ipc.MessageReceiver;
import io.aeron.Subscription;
import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.FrameDescriptor;
import io.aeron.logbuffer.Header;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A {@link MessageReceiver} over an Aeron subscription: each Aeron message is copied into a new
 * block of {@code heap}, which the returned {@link Message} hands to the caller. Fragments of a
 * message larger than the MTU are joined per publisher session before the block is allocated.
 *
 * <p><b>Backpressure.</b> If the heap has no room for a message, the fragment handler answers
 * {@code ABORT}: Aeron keeps the fragment, delivers it again on the next poll, and, while polls
 * make no progress, the receiver window closes and the sending side sees BACK_PRESSURED. Nothing
 * is dropped. The same happens when the caller stops polling because it cannot pass messages on.
 *
 * <p>At most {@link #BATCH} messages are taken from Aeron ahead of the caller; they are already
 * consumed from Aeron's point of view, so {@link #close()} frees them and counts them in
 * {@link #droppedAtClose()}. Aeron UDP keeps no history: a subscriber that was not there does not
 * get what was sent meanwhile (use Aeron Archive for that). For one thread.
 */
public final class AeronReceiver implements MessageReceiver {
    /** Messages taken from Aeron per poll at most, and so held here at most. */
    static final int BATCH = 16;
    private static final int UNFRAGMENTED = FrameDescriptor.UNFRAGMENTED & 0xFF;
    private static final int BEGIN = FrameDescriptor.BEGIN_FRAG_FLAG & 0xFF;
    private static final int END = FrameDescriptor.END_FRAG_FLAG & 0xFF;

    private final ShmHeap heap;
    private final Subscription subscription;
    /** Messages being joined from fragments, per publisher session. */
    private final Int2ObjectHashMap<Partial> partial = new Int2ObjectHashMap<>();
    private final UnsafeBuffer target = new UnsafeBuffer(0, 0);
    private final long[] offsets = new long[BATCH];
    private final long[] lengths = new long[BATCH];
    private final ControlledFragmentHandler handler = this::onFragment;
    private int head;
    private int size;
    private long received;
    private long heapFull;
    private long droppedAtClose;
    private boolean closed;

    /** Receives from {@code subscription} (owned and closed by the caller) into blocks of {@code heap}. */
    public AeronReceiver(ShmHeap heap, Subscription subscription) {
        this.heap = heap;
        this.subscription = subscription;
    }

    @Override
    public Optional<Message> poll() {
        ensureOpen();
        if (size == 0) {
            subscription.controlledPoll(handler, BATCH);
        }
        if (size == 0) {
            return Optional.empty();
        }
        Message message = new Message(offsets[head], lengths[head]);
        head = (head + 1) % BATCH;
        size--;
        return Optional.of(message);
    }

    @Override
    public Optional<Message> poll(long timeout, TimeUnit unit) throws InterruptedException {
        Backoff backoff = BridgeWait.until(unit.toNanos(timeout));
        for (;;) {
            Optional<Message> message = poll();
            if (message.isPresent()) {
                return message;
            }
            if (Thread.interrupted()) {
                throw new InterruptedException("polling " + subscription.channel());
            }
            if (!backoff.idle()) {
                return message;
            }
        }
    }

    private ControlledFragmentHandler.Action onFragment(DirectBuffer buffer, int offset, int length, Header header) {
        if (size == BATCH) {
            return ControlledFragmentHandler.Action.ABORT;
        }
        int flags = header.flags() & 0xFF;
        if ((flags & UNFRAGMENTED) == UNFRAGMENTED) {
            long block = heap.tryAllocate(length, ShmHeap.DEFAULT_ALIGNMENT);
            if (block == ShmHeap.NO_SPACE) {
                heapFull++;
                return ControlledFragmentHandler.Action.ABORT;
            }
            target.wrap(heap.address(block), length);
            buffer.getBytes(offset, target, 0, length);
            enqueue(block, length);
            return ControlledFragmentHandler.Action.CONTINUE;
        }
        int session = header.sessionId();
        Partial message = partial.get(session);
        if ((flags & BEGIN) != 0) {
            if (message == null) {
                message = new Partial();
                partial.put(session, message);
            }
            message.buffer.putBytes(0, buffer, offset, length);
            message.length = length;
            return ControlledFragmentHandler.Action.CONTINUE;
        }
        if (message == null || message.length == 0) {
            // A middle or end fragment without its beginning: this subscription joined the
            // stream in the middle of a message, which it never got whole; skip the rest.
            return ControlledFragmentHandler.Action.CONTINUE;
        }
        int soFar = message.length;
        ExpandableArrayBuffer builder = message.buffer;
        if ((flags & END) == 0) {
            builder.putBytes(soFar, buffer, offset, length);
            message.length = soFar + length;
            return ControlledFragmentHandler.Action.CONTINUE;
        }
        int total = soFar + length;
        long block = heap.tryAllocate(total, ShmHeap.DEFAULT_ALIGNMENT);
        if (block == ShmHeap.NO_SPACE) {
            // Nothing of this fragment was taken: on ABORT, Aeron delivers it again.
            heapFull++;
            return ControlledFragmentHandler.Action.ABORT;
        }
        target.wrap(heap.address(block), total);
        target.putBytes(0, builder, 0, soFar);
        buffer.getBytes(offset, target, soFar, length);
        message.length = 0;
        enqueue(block, total);
        return ControlledFragmentHandler.Action.CONTINUE;
    }

    /** The fragments of one session's message so far; length 0 = none in progress. */
    private static final class Partial {
        final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(1 << 12);
        int length;
    }

    private void enqueue(long block, long length) {
        int tail = (head + size) % BATCH;
        offsets[tail] = block;
        lengths[tail] = length;
        size++;
        received++;
    }

    /** True while at least one publisher's image is connected. */
    public boolean connected() {
        return subscription.isConnected();
    }

    /** Publishers currently connected (one image each). */
    public int images() {
        return subscription.imageCount();
    }

    public long received() {
        return received;
    }

    /** Times a message waited in Aeron because the heap had no room for it. */
    public long heapFullWaits() {
        return heapFull;
    }

    /** Messages taken from Aeron but not handed out before {@link #close()}, freed there. */
    public long droppedAtClose() {
        return droppedAtClose;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("receiver of " + subscription.channel() + " is closed");
        }
    }

    /** Frees the messages taken from Aeron and not yet handed out; does not close the subscription. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            for (; size > 0; size--) {
                heap.free(offsets[head]);
                head = (head + 1) % BATCH;
                droppedAtClose++;
            }
        }
    }
}
