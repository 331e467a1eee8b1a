package dev.shmheap.ipc.bridge;

import dev.shmheap.Backoff;
import dev.shmheap.HeapStats;
import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.MessageHandler;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmReceiver;
import dev.shmheap.ipc.internal.OpenHeap;
import io.aeron.ExclusivePublication;
import org.agrona.CloseHelper;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * The sending half of the bridge: consumes a shared-memory channel on this host's heap and sends
 * each message, in channel order, as one Aeron message on a UDP publication. A message leaves
 * the heap (is freed) only once Aeron has accepted it; while Aeron refuses (peer not connected,
 * back-pressured) the bridge holds that one message and stops consuming, so the channel fills
 * and the producers see backpressure: nothing is dropped and nothing waits without a bound (the
 * loop keeps checking its stop condition and reports each change of Aeron's state).
 *
 * <p>Order: the channel delivers each producer's messages in the order it offered them, and one
 * Aeron publication delivers in order, so order per producer holds end to end.
 */
public final class BridgeOut implements AutoCloseable {
    private final ShmHeap heap;
    private final HeapStats before;
    private final ShmChannel channel;
    private final ShmReceiver receiver;
    private final AeronEndpoint aeron;
    private final ExclusivePublication publication;
    private final AeronSender sender;
    private final PrintStream log;
    private final MessageHandler take = this::take;
    private long pendingOffset;
    private long pendingLength;
    private boolean pending;
    private long droppedAtStop;
    private long leftoverAtDestroy = -1;
    private boolean atBaseline;
    private final boolean resumed;

    /**
     * Creates (or opens) the heap at {@code heapPath}, creates the channel {@code channelName}
     * in it, and opens the publication to {@code destination} (host:port).
     *
     * @param aeronDir an external media driver's directory, or null for an embedded driver
     * @param uriParams extra Aeron URI parameters ("|term-length=4m" ...), or ""
     */
    public BridgeOut(Path heapPath, long capacity, String channelName, int slots, String destination, int stream, String aeronDir,
                     String uriParams, long peerTimeoutNanos, PrintStream log) throws Exception {
        String uri = AeronEndpoint.udpChannel(destination, uriParams);
        this.log = log;
        this.heap = OpenHeap.existingOrNew(heapPath, capacity);
        AeronEndpoint endpoint = null;
        try {
            this.before = heap.stats();
            // A bridge-out that was killed left its channel bound, with the producers still
            // attached and the undelivered messages in it: resume it rather than fail.
            this.resumed = heap.lookup(channelName).isPresent();
            this.channel = resumed ? ShmChannel.attach(heap, channelName, Duration.ZERO) : ShmChannel.create(heap, channelName, slots);
            this.receiver = channel.newReceiver();
            endpoint = AeronEndpoint.open(aeronDir, "out", peerTimeoutNanos);
            this.aeron = endpoint;
            this.publication = aeron.aeron().addExclusivePublication(uri, stream);
            this.sender = new AeronSender(heap, publication);
        } catch (Exception | Error e) {
            CloseHelper.quietClose(endpoint);
            heap.close();
            throw e;
        }
        log.println("bridge-out: ready: " + (resumed ? "resumed the " : "") + "shm channel '" + channelName + "' ("
                + channel.capacity() + " slots) in " + heapPath + " -> " + uri
                + " stream " + stream + "; media driver " + (aeron.embedded() ? "embedded in " : "external at ") + aeron.directory());
    }

    /** Forwards until {@code stop} says so; returns the number of messages forwarded. */
    public long run(BooleanSupplier stop, Duration exitWhenIdle) {
        boolean disconnected = false;
        long lastTraffic = System.nanoTime();
        Backoff backoff = BridgeWait.forever();
        while (!stop.getAsBoolean()) {
            if (!pending && receiver.poll(take, 1) == 0) {
                if (!exitWhenIdle.isZero() && sender.sent() > 0 && System.nanoTime() - lastTraffic > exitWhenIdle.toNanos()) {
                    log.println("bridge-out: idle for " + exitWhenIdle + ", stopping");
                    break;
                }
                backoff.idle();
                continue;
            }
            if (sender.offerTrusted(pendingOffset, pendingLength)) {
                pending = false;
                lastTraffic = System.nanoTime();
                backoff.reset();
                if (disconnected) {
                    log.println("bridge-out: sending again (a bridge-in is connected)");
                    disconnected = false;
                }
                continue;
            }
            // BACK_PRESSURED and ADMIN_ACTION are the normal pace of a busy stream: counted,
            // not logged. NOT_CONNECTED is logged once per outage.
            boolean notConnected = sender.state() == AeronSender.State.NOT_CONNECTED;
            if (notConnected && !disconnected) {
                log.println("bridge-out: Aeron says NOT_CONNECTED: no bridge-in is listening; holding the message,"
                        + " the shm producers are back-pressured");
                disconnected = true;
            }
            lastTraffic = System.nanoTime();
            // Held: the same backoff as an empty channel (BACK_PRESSURED usually clears within
            // microseconds; NOT_CONNECTED lasts milliseconds at least, and the parks reach 1 ms).
            backoff.idle();
        }
        return sender.sent();
    }

    private void take(long offset, long length) {
        pendingOffset = offset;
        pendingLength = length;
        pending = true;
    }

    public AeronSender sender() {
        return sender;
    }

    /** After {@link #close()}: the channel is gone and the heap's used bytes are what they were before it existed. */
    public boolean heapAtBaseline() {
        return atBaseline;
    }

    /**
     * Frees the message held back (if any), destroys the channel (freeing what producers sent
     * that was not forwarded: printed), closes the publication and the driver (which deletes its
     * directory), and reports the heap's usage against the start. Does not close the heap:
     * {@link #closeHeap()} does.
     */
    @Override
    public void close() throws InterruptedException {
        if (pending) {
            heap.free(pendingOffset);
            pending = false;
            droppedAtStop++;
        }
        receiver.close();
        try {
            leftoverAtDestroy = channel.destroy(Duration.ofSeconds(5));
        } catch (IllegalStateException e) {
            log.println("bridge-out: channel left in place: " + e.getMessage());
        }
        CloseHelper.closeAll(publication, aeron);
        HeapStats after = heap.stats();
        // Resumed: the baseline before the first bridge-out is unknown; nothing may have been added.
        atBaseline = leftoverAtDestroy >= 0 && (resumed ? after.usedBytes() <= before.usedBytes() : after.usedBytes() == before.usedBytes());
        log.println("bridge-out: forwarded " + sender.sent() + " messages; refusals: not connected " + sender.notConnectedRefusals()
                + ", back-pressured " + sender.backPressuredRefusals() + "; not forwarded at stop: " + droppedAtStop + " held + "
                + Math.max(0, leftoverAtDestroy) + " in the channel; heap used " + after.usedBytes() + " B (before " + before.usedBytes()
                + " B)" + (heapAtBaseline() ? " -> back at baseline" : ""));
    }

    public void closeHeap() {
        heap.close();
    }
}
