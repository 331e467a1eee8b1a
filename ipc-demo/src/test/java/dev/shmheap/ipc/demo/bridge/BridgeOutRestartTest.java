package dev.shmheap.ipc.demo.bridge;

import dev.shmheap.ipc.bridge.AeronEndpoint;
import dev.shmheap.ipc.bridge.BridgeIn;
import dev.shmheap.JvmFlags;
import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.Message;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmReceiver;
import dev.shmheap.ipc.ShmSender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code bridge out} in a child JVM killed with SIGKILL and started again: the new one resumes
 * the channel the producers are still attached to, bridge in sees a new Aeron image, and the
 * messages sent after the restart arrive in order. The killed driver's directory is removed by
 * the next embedded driver to start.
 */
class BridgeOutRestartTest {
    private static final long WAIT_SECONDS = 60;
    private Path pathA;
    private Path pathB;
    private String endpoint;
    private final List<Process> children = new ArrayList<>();

    @BeforeEach
    void create() throws Exception {
        Path dir = Files.isWritable(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
        long id = ProcessHandle.current().pid() * 1000 + System.nanoTime() % 1000;
        pathA = dir.resolve("shmheap-bridge-restart-a-" + id + ".heap");
        pathB = dir.resolve("shmheap-bridge-restart-b-" + id + ".heap");
        ShmHeap.create(pathA, 32 << 20).close();
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            endpoint = "127.0.0.1:" + socket.getLocalPort();
        }
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (Process child : children) {
            child.destroyForcibly().waitFor(WAIT_SECONDS, TimeUnit.SECONDS);
        }
        AeronEndpoint.removeAbandonedDirectories();
        Files.deleteIfExists(pathA);
        Files.deleteIfExists(pathB);
    }

    /** Starts {@code bridge out} in a child JVM and waits for its "ready" line. */
    private Process startBridgeOut(List<String> output) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JvmFlags.required());
        command.addAll(List.of("-Xmx96m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                BridgeMain.class.getName(), "out", "--heap", pathA.toString(), "--channel", "demo", "--slots", "64", "--to", endpoint,
                "--peer-timeout-ms", "1500"));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        children.add(process);
        AtomicBoolean ready = new AtomicBoolean();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    output.add(line);
                    if (line.startsWith("bridge-out: ready")) {
                        ready.set(true);
                    }
                }
            } catch (java.io.IOException ignored) {
                // the child is gone; its lines are in output
            }
        });
        reader.setDaemon(true);
        reader.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!ready.get()) {
            assertTrue(process.isAlive() && System.nanoTime() - deadline < 0, "bridge out did not start: " + output);
            Thread.sleep(10);
        }
        return process;
    }

    private static void send(ShmHeap heap, ShmSender sender, long seq) throws InterruptedException {
        long block = heap.allocate(Long.BYTES);
        heap.putLong(block, seq);
        assertTrue(sender.offer(block, Long.BYTES, WAIT_SECONDS, TimeUnit.SECONDS), "offer " + seq);
    }

    private static void receive(ShmHeap heap, ShmReceiver receiver, long first, long last) throws InterruptedException {
        for (long seq = first; seq < last; seq++) {
            Optional<Message> message = receiver.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            assertTrue(message.isPresent(), "message " + seq + " did not arrive");
            assertEquals(seq, heap.getLong(message.get().offset()), "order");
            heap.free(message.get().offset());
        }
    }

    @Test
    void shouldResumeTheChannelAfterBridgeOutIsKilledAndRestarted() throws Exception {
        ByteArrayOutputStream inLog = new ByteArrayOutputStream();
        try (ShmHeap heapB = ShmHeap.create(pathB, 32 << 20)) {
            ShmChannel consumerChannel = ShmChannel.create(heapB, "demo", 64);
            ShmReceiver receiver = consumerChannel.newReceiver();
            BridgeIn bridgeIn = new BridgeIn(pathB, 32 << 20, "demo", endpoint, 1001, null, "", TimeUnit.MILLISECONDS.toNanos(1500),
                    new PrintStream(inLog, true, StandardCharsets.UTF_8));
            AtomicBoolean stop = new AtomicBoolean();
            Thread inThread = new Thread(() -> {
                try {
                    bridgeIn.run(stop::get, Duration.ofMillis(50), Duration.ZERO);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "bridge-in");
            inThread.start();
            try (ShmHeap heapA = ShmHeap.open(pathA)) {
                List<String> first = Collections.synchronizedList(new ArrayList<>());
                Process killed = startBridgeOut(first);
                ShmChannel channelA = ShmChannel.attach(heapA, "demo", Duration.ofSeconds(WAIT_SECONDS));
                try (ShmSender sender = channelA.newSender()) {
                    for (long seq = 0; seq < 100; seq++) {
                        send(heapA, sender, seq);
                    }
                    receive(heapB, receiver, 0, 100);
                    long pid = killed.pid();
                    killed.destroyForcibly().waitFor(WAIT_SECONDS, TimeUnit.SECONDS);
                    assertTrue(abandonedDirectoryOf(pid), "SIGKILL leaves the embedded driver's directory behind");

                    List<String> second = Collections.synchronizedList(new ArrayList<>());
                    Process restarted = startBridgeOut(second);
                    assertTrue(second.toString().contains("resumed the shm channel 'demo'"), second.toString());
                    assertFalse(abandonedDirectoryOf(pid), "the new driver removed the killed one's directory");
                    for (long seq = 100; seq < 200; seq++) {
                        send(heapA, sender, seq);
                    }
                    receive(heapB, receiver, 100, 200);
                    sender.close();
                    // SIGTERM: a clean stop destroys the channel. Through the handle, because
                    // Process.destroy() also closes our end of the child's output pipe.
                    restarted.toHandle().destroy();
                    assertTrue(restarted.waitFor(WAIT_SECONDS, TimeUnit.SECONDS), second.toString());
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
                    while (!second.toString().contains("bridge-out: forwarded") && System.nanoTime() - deadline < 0) {
                        Thread.sleep(10); // the reader thread has the child's last lines still to read
                    }
                    assertTrue(second.toString().contains("forwarded 100 messages") && second.toString().contains("back at baseline"),
                            second.toString());
                }
                assertTrue(heapA.names().isEmpty(), "the restarted bridge destroyed the channel: " + heapA.names());
                assertEquals(0, heapA.stats().usedBytes(), "heap A back at its empty baseline");
            } finally {
                stop.set(true);
                inThread.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
                bridgeIn.close();
                bridgeIn.closeHeap();
            }
            assertTrue(inLog.toString(StandardCharsets.UTF_8).contains("peer connected (2 image(s))")
                    || inLog.toString(StandardCharsets.UTF_8).split("peer connected", -1).length > 2, inLog.toString(StandardCharsets.UTF_8));
            receiver.close();
            consumerChannel.destroy(Duration.ofSeconds(WAIT_SECONDS));
            assertEquals(0, heapB.stats().usedBytes(), "heap B back at its empty baseline");
        }
    }

    private static boolean abandonedDirectoryOf(long pid) throws Exception {
        Path parent = AeronEndpoint.newDirectory("x").getParent();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(parent, AeronEndpoint.PREFIX + "out-" + pid + "-*")) {
            return entries.iterator().hasNext();
        }
    }
}
