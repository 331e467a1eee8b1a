package dev.shmheap.ipc.bridge;

import dev.shmheap.Backoff;
import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.Message;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmSender;
import dev.shmheap.ipc.internal.OpenHeap;
import io.aeron.Subscription;
import org.agrona.CloseHelper;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * The receiving half of the bridge: subscribes to Aeron UDP on this host, copies each message
 * into a block of this host's heap ({@link AeronReceiver}) and offers it, in arrival order, to
 * the shared-memory channel that the local consumer created. While the channel is full (or does
 * not exist yet) it holds that one message and stops polling Aeron, so Aeron's flow control
 * back-pressures the sending side: nothing is dropped.
 *
 * <p>It holds a producer entry of the channel only while messages flow: after
 * {@code idleDetach} without traffic it detaches, so that a consumer that has finished can
 * destroy its channel (which waits for producers to detach), and it looks the channel up by
 * name again on the next message.
 */
public final class BridgeIn implements AutoCloseable {
    private final ShmHeap heap;
    private final String channelName;
    private final AeronEndpoint aeron;
    private final Subscription subscription;
    private final AeronReceiver receiver;
    private final PrintStream log;
    private ShmSender sender;
    private Message pending;
    private long delivered;
    private long droppedAtStop;

    /**
     * Opens (or creates) the heap at {@code heapPath} and subscribes to UDP at {@code bind}
     * (host:port of this host; 0.0.0.0 for every interface).
     */
    public BridgeIn(Path heapPath, long capacity, String channelName, String bind, int stream, String aeronDir, String uriParams,
                    long peerTimeoutNanos, PrintStream log) throws Exception {
        String uri = AeronEndpoint.udpChannel(bind, uriParams);
        this.log = log;
        this.channelName = channelName;
        this.heap = OpenHeap.existingOrNew(heapPath, capacity);
        AeronEndpoint endpoint = null;
        try {
            endpoint = AeronEndpoint.open(aeronDir, "in", peerTimeoutNanos);
            this.aeron = endpoint;
            this.subscription = aeron.aeron().addSubscription(uri, stream);
            this.receiver = new AeronReceiver(heap, subscription);
        } catch (Exception | Error e) {
            CloseHelper.quietClose(endpoint);
            heap.close();
            throw e;
        }
        log.println("bridge-in: ready: " + uri + " stream " + stream + " -> shm channel '" + channelName + "' in " + heapPath
                + "; media driver " + (aeron.embedded() ? "embedded in " : "external at ") + aeron.directory());
    }

    /** Delivers until {@code stop} says so; returns the number of messages delivered to the channel. */
    public long run(BooleanSupplier stop, Duration idleDetach, Duration exitWhenIdle) throws InterruptedException {
        int images = 0;
        boolean reportedMissing = false;
        long lastTraffic = System.nanoTime();
        Backoff backoff = BridgeWait.forever();
        while (!stop.getAsBoolean()) {
            int now = receiver.images();
            if (now != images) {
                log.println(now > images ? "bridge-in: peer connected (" + now + " image(s))"
                        : "bridge-in: peer lost (Aeron closed its image; " + now + " left); waiting for it to come back");
                images = now;
            }
            if (pending == null) {
                Optional<Message> message = receiver.poll();
                if (message.isPresent()) {
                    pending = message.get();
                }
            }
            if (pending != null && attach(reportedMissing)) {
                reportedMissing = false;
                if (sender.offerTrusted(pending.offset(), pending.length())) {
                    pending = null;
                    delivered++;
                    lastTraffic = System.nanoTime();
                    backoff.reset();
                    continue;
                }
            } else if (pending != null) {
                reportedMissing = true;
            }
            long idle = System.nanoTime() - lastTraffic;
            if (pending == null && sender != null && idle > idleDetach.toNanos()) {
                sender.close();
                sender = null;
            }
            if (pending == null && !exitWhenIdle.isZero() && delivered > 0 && idle > exitWhenIdle.toNanos()) {
                log.println("bridge-in: idle for " + exitWhenIdle + ", stopping");
                break;
            }
            backoff.idle();
        }
        return delivered;
    }

    /** Attaches a sender to the channel by name if none is attached; false if the channel does not exist (yet). */
    private boolean attach(boolean reported) throws InterruptedException {
        if (sender != null) {
            return true;
        }
        try {
            sender = ShmChannel.attach(heap, channelName, Duration.ZERO).newSender();
            return true;
        } catch (IllegalStateException e) {
            if (!reported) {
                log.println("bridge-in: holding a message: " + e.getMessage());
            }
            return false;
        }
    }

    public AeronReceiver receiver() {
        return receiver;
    }

    public long delivered() {
        return delivered;
    }

    /** Frees what it holds (counted as not delivered), detaches, closes the subscription and the driver. */
    @Override
    public void close() {
        if (pending != null) {
            heap.free(pending.offset());
            pending = null;
            droppedAtStop++;
        }
        receiver.close();
        if (sender != null) {
            sender.close();
            sender = null;
        }
        CloseHelper.closeAll(subscription, aeron);
        log.println("bridge-in: delivered " + delivered + " messages; heap-full waits " + receiver.heapFullWaits()
                + "; not delivered at stop: " + (droppedAtStop + receiver.droppedAtClose()));
    }

    public void closeHeap() {
        heap.close();
    }
}
