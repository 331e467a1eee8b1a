package dev.shmheap.ipc.bridge;

import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.Message;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmReceiver;
import dev.shmheap.ipc.ShmSender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Both bridge halves in this JVM, each with its own embedded media driver, joined by Aeron UDP on
 * 127.0.0.1; two heap files play the two hosts. Bounded: every wait has a deadline, and the
 * drivers delete their directories on close.
 */
class BridgeTest {
    private static final long WAIT_SECONDS = 60;
    /** Short, so that a stopped peer is reported within a second or two, not Aeron's 5-10 s. */
    private static final long PEER_TIMEOUT_NANOS = TimeUnit.MILLISECONDS.toNanos(1500);
    private static final int STREAM = 1001;

    private Path pathA;
    private Path pathB;
    private ShmHeap heapA;
    private ShmHeap heapB;
    private String endpoint;
    private final List<Runner> runners = new ArrayList<>();
    private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private final PrintStream log = new PrintStream(logBytes, true, StandardCharsets.UTF_8);

    @BeforeEach
    void create() throws Exception {
        Path dir = Files.isWritable(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
        long id = ProcessHandle.current().pid() * 1000 + System.nanoTime() % 1000;
        pathA = dir.resolve("shmheap-bridge-test-a-" + id + ".heap");
        pathB = dir.resolve("shmheap-bridge-test-b-" + id + ".heap");
        heapA = ShmHeap.create(pathA, 32 << 20);
        heapB = ShmHeap.create(pathB, 32 << 20);
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            endpoint = "127.0.0.1:" + socket.getLocalPort();
        }
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (Runner runner : runners) {
            runner.stopAndClose();
        }
        heapA.close();
        heapB.close();
        Files.deleteIfExists(pathA);
        Files.deleteIfExists(pathB);
    }

    /** A bridge half on its own thread, stopped through a flag (never a hang: the loop checks it). */
    private static final class Runner {
        final AtomicBoolean stop = new AtomicBoolean();
        final Thread thread;
        final AutoCloseable bridge;
        volatile Throwable failure;
        boolean closed;

        Runner(AutoCloseable bridge, java.util.function.Function<BooleanSupplier, Object> loop) {
            this.bridge = bridge;
            this.thread = new Thread(() -> {
                try {
                    loop.apply(stop::get);
                } catch (Throwable t) {
                    failure = t;
                }
            }, "bridge-" + bridge.getClass().getSimpleName());
            thread.start();
        }

        void stopAndClose() throws Exception {
            if (closed) {
                return;
            }
            closed = true;
            stop.set(true);
            thread.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertFalse(thread.isAlive(), "the bridge loop did not stop within " + WAIT_SECONDS + " s");
            bridge.close();
            if (bridge instanceof BridgeOut out) {
                out.closeHeap();
            } else if (bridge instanceof BridgeIn in) {
                in.closeHeap();
            }
            if (failure != null) {
                throw new AssertionError("bridge loop failed", failure);
            }
        }
    }

    private BridgeOut startOut(Runner[] holder) throws Exception {
        BridgeOut out = new BridgeOut(pathA, 32 << 20, "demo", 64, endpoint, STREAM, null, "", PEER_TIMEOUT_NANOS, log);
        Runner runner = new Runner(out, stop -> out.run(stop, Duration.ZERO));
        runners.add(runner);
        holder[0] = runner;
        return out;
    }

    private BridgeIn startIn(Runner[] holder) throws Exception {
        BridgeIn in = new BridgeIn(pathB, 32 << 20, "demo", endpoint, STREAM, null, "", PEER_TIMEOUT_NANOS, log);
        Runner runner = new Runner(in, stop -> {
            try {
                return in.run(stop, Duration.ofMillis(50), Duration.ZERO);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        runners.add(runner);
        holder[0] = runner;
        return in;
    }

    /** Message {@code seq}: its length varies from 1 byte to beyond several MTUs, its bytes derive from seq. */
    private static int length(long seq) {
        return (int) (1 + (seq * 7_919) % 20_000);
    }

    private static byte content(long seq, int index) {
        return (byte) (seq * 131 + index * 7);
    }

    private static void send(ShmHeap heap, ShmSender sender, long seq) throws InterruptedException {
        int length = length(seq);
        long block = heap.allocate(length);
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = content(seq, i);
        }
        if (length >= Long.BYTES) {
            java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.nativeOrder()).putLong(0, seq);
        }
        heap.putBytes(block, bytes, 0, length);
        assertTrue(sender.offer(block, length, WAIT_SECONDS, TimeUnit.SECONDS), "offer of message " + seq);
    }

    /** Receives messages first..last-1 from heap B's channel and checks each byte; fails on anything else. */
    private static void receive(ShmHeap heap, ShmReceiver receiver, long first, long last) throws InterruptedException {
        for (long seq = first; seq < last; seq++) {
            Optional<Message> polled = receiver.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            assertTrue(polled.isPresent(), "message " + seq + " did not arrive within " + WAIT_SECONDS + " s");
            Message message = polled.get();
            assertEquals(length(seq), message.length(), "length (message boundary) of message " + seq);
            byte[] bytes = new byte[(int) message.length()];
            heap.getBytes(message.offset(), bytes, 0, bytes.length);
            if (bytes.length >= Long.BYTES) {
                assertEquals(seq, java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.nativeOrder()).getLong(0), "order");
            }
            for (int i = Long.BYTES; i < bytes.length; i++) {
                if (bytes[i] != content(seq, i)) {
                    fail("message " + seq + " corrupt at byte " + i);
                }
            }
            heap.free(message.offset());
        }
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() - deadline < 0, what + " did not happen within " + WAIT_SECONDS + " s");
            Thread.sleep(5);
        }
    }

    private String log() {
        return logBytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void shouldCarryEveryMessageWholeAndInOrderFromHeapAToHeapB() throws Exception {
        long baselineB = heapB.stats().usedBytes();
        ShmChannel consumerChannel = ShmChannel.create(heapB, "demo", 64);
        ShmReceiver receiver = consumerChannel.newReceiver();
        Runner[] in = new Runner[1];
        Runner[] out = new Runner[1];
        startIn(in);
        BridgeOut bridgeOut = startOut(out);
        ShmChannel channelA = ShmChannel.attach(heapA, "demo", Duration.ofSeconds(WAIT_SECONDS));
        int count = 2_000;
        Thread producer = new Thread(() -> {
            try (ShmSender sender = channelA.newSender()) {
                for (long seq = 0; seq < count; seq++) {
                    send(heapA, sender, seq);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "producer");
        producer.start();
        receive(heapB, receiver, 0, count);
        producer.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
        assertEquals(count, bridgeOut.sender().sent());
        out[0].stopAndClose();
        in[0].stopAndClose();
        assertTrue(bridgeOut.heapAtBaseline(), log());
        receiver.close();
        assertEquals(0, consumerChannel.destroy(Duration.ofSeconds(WAIT_SECONDS)));
        assertEquals(baselineB, heapB.stats().usedBytes(), "heap B back at baseline");
        assertTrue(heapA.verify().ok() && heapB.verify().ok());
    }

    @Test
    void shouldHoldMessagesWhileNoPeerListensAndDeliverThemAfterARestart() throws Exception {
        ShmChannel consumerChannel = ShmChannel.create(heapB, "demo", 64);
        ShmReceiver receiver = consumerChannel.newReceiver();
        Runner[] out = new Runner[1];
        BridgeOut bridgeOut = startOut(out);
        ShmChannel channelA = ShmChannel.attach(heapA, "demo", Duration.ofSeconds(WAIT_SECONDS));
        try (ShmSender sender = channelA.newSender()) {
            // No bridge-in yet: Aeron says NOT_CONNECTED and the bridge holds the message.
            for (long seq = 0; seq < 5; seq++) {
                send(heapA, sender, seq);
            }
            await(() -> bridgeOut.sender().notConnectedRefusals() > 0, "a NOT_CONNECTED refusal");
            assertEquals(0, bridgeOut.sender().sent());
            assertTrue(receiver.poll().isEmpty());

            Runner[] first = new Runner[1];
            startIn(first);
            receive(heapB, receiver, 0, 5);

            // Bridge-in goes away; once Aeron reports it (the publication's connection times out),
            // messages are held again, not sent into the void.
            first[0].stopAndClose();
            await(() -> !bridgeOut.sender().connected(), "the publication noticing that bridge-in is gone");
            long refusalsBefore = bridgeOut.sender().notConnectedRefusals();
            for (long seq = 5; seq < 10; seq++) {
                send(heapA, sender, seq);
            }
            await(() -> bridgeOut.sender().notConnectedRefusals() > refusalsBefore, "a NOT_CONNECTED refusal after the restart");
            assertEquals(5, bridgeOut.sender().sent());

            Runner[] second = new Runner[1];
            startIn(second);
            receive(heapB, receiver, 5, 10);
            assertEquals(10, bridgeOut.sender().sent());
        }
        assertTrue(log().contains("NOT_CONNECTED") && log().contains("sending again"), log());
    }

    @Test
    void shouldStopWithoutHangingWhileHoldingAMessageAndFreeIt() throws Exception {
        Runner[] out = new Runner[1];
        BridgeOut bridgeOut = startOut(out);
        ShmChannel channelA = ShmChannel.attach(heapA, "demo", Duration.ofSeconds(WAIT_SECONDS));
        try (ShmSender sender = channelA.newSender()) {
            for (long seq = 0; seq < 3; seq++) {
                send(heapA, sender, seq);
            }
        }
        await(() -> bridgeOut.sender().notConnectedRefusals() > 0, "a NOT_CONNECTED refusal");
        out[0].stopAndClose();
        assertTrue(bridgeOut.heapAtBaseline(), "the held message and the queued ones are freed: " + log());
        assertTrue(log().contains("not forwarded at stop: 1 held + 2 in the channel"), log());
    }

    @Test
    void shouldRejectBadEndpointsAndOversizedMessagesWithClearMessages() throws Exception {
        IllegalArgumentException noPort = assertThrows(IllegalArgumentException.class, () -> AeronEndpoint.udpChannel("127.0.0.1", ""));
        assertTrue(noPort.getMessage().contains("endpoint=127.0.0.1"), noPort.getMessage());
        IllegalArgumentException badPort = assertThrows(IllegalArgumentException.class,
                () -> AeronEndpoint.udpChannel("127.0.0.1:99999", ""));
        assertTrue(badPort.getMessage().contains("endpoint=127.0.0.1:99999"), badPort.getMessage());
        IllegalArgumentException dir = assertThrows(IllegalArgumentException.class,
                () -> AeronEndpoint.open("/nonexistent/aeron-dir", "test", 0));
        assertTrue(dir.getMessage().contains("aeron-dir=/nonexistent/aeron-dir"), dir.getMessage());

        long baseline = heapA.stats().usedBytes();
        try (AeronEndpoint aeron = AeronEndpoint.open(null, "test", 0);
             io.aeron.ExclusivePublication publication = aeron.aeron().addExclusivePublication(AeronEndpoint.udpChannel(endpoint, ""),
                     STREAM)) {
            AeronSender sender = new AeronSender(heapA, publication);
            long big = heapA.allocate(publication.maxMessageLength() + 1L);
            IllegalArgumentException tooBig = assertThrows(IllegalArgumentException.class,
                    () -> sender.offer(big, publication.maxMessageLength() + 1L));
            assertTrue(tooBig.getMessage().contains("length=" + (publication.maxMessageLength() + 1)), tooBig.getMessage());
            heapA.free(big);
            assertEquals(baseline, heapA.stats().usedBytes(), "a refused message stays with the caller, who frees it");
        }
    }
}
