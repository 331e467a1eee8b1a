package dev.shmheap.ipc.demo.bridge;

import dev.shmheap.ipc.bridge.AeronEndpoint;
import dev.shmheap.ipc.bridge.BridgeIn;
import dev.shmheap.ipc.bridge.BridgeOut;
import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmReceiver;
import dev.shmheap.ipc.ShmSender;
import dev.shmheap.ipc.demo.CommandLine;
import dev.shmheap.ipc.internal.OpenHeap;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code java -jar ipc-demo.jar bridge out|in|udp-send|udp-receive|shm-send|shm-receive [options]}:
 * the two halves of the Aeron UDP bridge, and the two ends of the comparison in
 * {@link BridgeBench} (through the bridge: shm-send, shm-receive; plain Aeron UDP: udp-send,
 * udp-receive). The halves run until SIGTERM/SIGINT
 * (then they stop cleanly: the driver directory is deleted) or, with
 * {@code --exit-when-idle-seconds N}, until no message has passed for N seconds after the first.
 */
public final class BridgeMain {
    public static final String USAGE = String.join("\n",
            "bridge out --heap PATH [--capacity 256m] [--channel demo] [--slots 1024] --to HOST:PORT [--stream 1001]",
            "           [--aeron-dir DIR] [--aeron-params '|term-length=4m'] [--exit-when-idle-seconds 0] [--peer-timeout-ms 0]",
            "       bridge in --heap PATH [--capacity 256m] [--channel demo] --bind HOST:PORT [--stream 1001] [--aeron-dir DIR]",
            "           [--aeron-params ''] [--idle-detach-ms 200] [--exit-when-idle-seconds 0] [--peer-timeout-ms 0]",
            "       bridge udp-send --to HOST:PORT [--stream 1001] --count N [--size 256] [--rate MSG_PER_S] [--aeron-dir DIR]",
            "       bridge udp-receive --bind HOST:PORT [--stream 1001] --count N [--aeron-dir DIR] [--timeout-seconds 60]",
            "       bridge shm-send --heap PATH [--channel bench] --count N [--size 256] [--rate MSG_PER_S]",
            "       bridge shm-receive --heap PATH [--capacity 256m] [--channel bench] [--slots 1024] --count N [--timeout-seconds 60]");
    private static final int DEFAULT_STREAM = 1001;
    private static final long STOP_WAIT_SECONDS = 15;

    private BridgeMain() {
    }

    public static void main(String[] args) throws Exception {
        int status;
        try {
            status = run(args);
        } catch (IllegalArgumentException e) {
            System.err.println("bridge: " + e.getMessage());
            status = 2;
        }
        if (status >= 0) {
            System.exit(status);
        }
    }

    /** The exit status, or -1 if a signal stopped the command (the JVM is exiting already). */
    static int run(String[] args) throws Exception {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: " + USAGE);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        return switch (args[0]) {
            case "out" -> out(CommandLine.parse(rest, USAGE, "heap", "capacity", "channel", "slots", "to", "stream", "aeron-dir",
                    "aeron-params", "exit-when-idle-seconds", "peer-timeout-ms"));
            case "in" -> in(CommandLine.parse(rest, USAGE, "heap", "capacity", "channel", "bind", "stream", "aeron-dir", "aeron-params",
                    "idle-detach-ms", "exit-when-idle-seconds", "peer-timeout-ms"));
            case "udp-send" -> udpSend(CommandLine.parse(rest, USAGE, "to", "stream", "count", "size", "rate", "aeron-dir",
                    "aeron-params"));
            case "shm-send" -> shmSend(CommandLine.parse(rest, USAGE, "heap", "channel", "count", "size", "rate"));
            case "shm-receive" -> shmReceive(CommandLine.parse(rest, USAGE, "heap", "capacity", "channel", "slots", "count",
                    "timeout-seconds"));
            case "udp-receive" -> udpReceive(CommandLine.parse(rest, USAGE, "bind", "stream", "count", "aeron-dir", "aeron-params",
                    "timeout-seconds"));
            default -> throw new IllegalArgumentException("unknown bridge command '" + args[0] + "'\nusage: " + USAGE);
        };
    }

    /** Stops a loop on SIGTERM/SIGINT and lets it finish its clean-up before the JVM exits. */
    private static final class Stop {
        final AtomicBoolean requested = new AtomicBoolean();
        final CountDownLatch done = new CountDownLatch(1);
        final Thread hook = new Thread(() -> {
            requested.set(true);
            try {
                done.await(STOP_WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "bridge-stop");

        Stop() {
            Runtime.getRuntime().addShutdownHook(hook);
        }

        /** Returns {@code status}, or -1 if a signal is stopping the JVM (which must not call System.exit then). */
        int finish(int status) {
            done.countDown();
            if (requested.get()) {
                return -1;
            }
            Runtime.getRuntime().removeShutdownHook(hook);
            return status;
        }
    }

    private static Duration seconds(CommandLine args, String name) {
        long value = args.getLong(name, 0);
        if (value < 0) {
            throw new IllegalArgumentException("--" + name + "=" + value + " must not be negative");
        }
        return Duration.ofSeconds(value);
    }

    private static long peerTimeout(CommandLine args) {
        long millis = args.getLong("peer-timeout-ms", 0);
        if (millis < 0) {
            throw new IllegalArgumentException("--peer-timeout-ms=" + millis + " must not be negative (0 = Aeron's defaults)");
        }
        return TimeUnit.MILLISECONDS.toNanos(millis);
    }

    static int out(CommandLine args) throws Exception {
        Duration idle = seconds(args, "exit-when-idle-seconds");
        BridgeOut bridge = new BridgeOut(Path.of(args.require("heap")), args.getLong("capacity", 256L << 20), args.get("channel", "demo"),
                args.getInt("slots", 1024), args.require("to"), args.getInt("stream", DEFAULT_STREAM), args.get("aeron-dir", null),
                args.get("aeron-params", ""), peerTimeout(args), System.out);
        Stop stop = new Stop();
        try {
            bridge.run(stop.requested::get, idle);
        } finally {
            bridge.close();
            bridge.closeHeap();
        }
        return stop.finish(bridge.heapAtBaseline() ? 0 : 1);
    }

    static int in(CommandLine args) throws Exception {
        Duration idle = seconds(args, "exit-when-idle-seconds");
        BridgeIn bridge = new BridgeIn(Path.of(args.require("heap")), args.getLong("capacity", 256L << 20), args.get("channel", "demo"),
                args.require("bind"), args.getInt("stream", DEFAULT_STREAM), args.get("aeron-dir", null), args.get("aeron-params", ""),
                peerTimeout(args), System.out);
        Stop stop = new Stop();
        try {
            bridge.run(stop.requested::get, Duration.ofMillis(args.getLong("idle-detach-ms", 200)), idle);
        } finally {
            bridge.close();
            bridge.closeHeap();
        }
        return stop.finish(0);
    }

    static int udpSend(CommandLine args) {
        String uri = AeronEndpoint.udpChannel(args.require("to"), args.get("aeron-params", ""));
        try (AeronEndpoint aeron = AeronEndpoint.open(args.get("aeron-dir", null), "udp-send", 0);
             ExclusivePublication publication = aeron.aeron().addExclusivePublication(uri, args.getInt("stream", DEFAULT_STREAM))) {
            BridgeBench.udpSend(publication, args.getLong("count", 100_000), args.getInt("size", 256), args.getLong("rate", 0), System.out);
            // Let the driver deliver (and retransmit) the tail before it closes with this process:
            // the receiver leaves once it has everything, and then the publication disconnects.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STOP_WAIT_SECONDS);
            while (publication.isConnected() && System.nanoTime() - deadline < 0) {
                Thread.sleep(10);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
        return 0;
    }

    static int udpReceive(CommandLine args) {
        String uri = AeronEndpoint.udpChannel(args.require("bind"), args.get("aeron-params", ""));
        try (AeronEndpoint aeron = AeronEndpoint.open(args.get("aeron-dir", null), "udp-receive", 0);
             Subscription subscription = aeron.aeron().addSubscription(uri, args.getInt("stream", DEFAULT_STREAM))) {
            System.out.println("udp-receive: ready: " + uri);
            return BridgeBench.udpReceive(subscription, args.getLong("count", 100_000),
                    TimeUnit.SECONDS.toNanos(args.getLong("timeout-seconds", 60)), System.out);
        }
    }

    static int shmSend(CommandLine args) throws Exception {
        try (ShmHeap heap = ShmHeap.open(Path.of(args.require("heap")))) {
            ShmChannel channel = ShmChannel.attach(heap, args.get("channel", "bench"), Duration.ofSeconds(60));
            try (ShmSender sender = channel.newSender()) {
                BridgeBench.shmSend(heap, sender, args.getLong("count", 100_000), args.getInt("size", 256), args.getLong("rate", 0),
                        System.out);
            }
        }
        return 0;
    }

    static int shmReceive(CommandLine args) throws Exception {
        Path path = Path.of(args.require("heap"));
        try (ShmHeap heap = OpenHeap.existingOrNew(path, args.getLong("capacity", 256L << 20))) {
            long before = heap.stats().usedBytes();
            String name = args.get("channel", "bench");
            ShmChannel channel = ShmChannel.create(heap, name, args.getInt("slots", 1024));
            int status;
            try (ShmReceiver receiver = channel.newReceiver()) {
                System.out.println("shm-receive: ready: channel '" + name + "' in " + path);
                status = BridgeBench.shmReceive(heap, receiver, args.getLong("count", 100_000),
                        TimeUnit.SECONDS.toNanos(args.getLong("timeout-seconds", 60)), System.out);
            }
            long leftover = channel.destroy(Duration.ofSeconds(STOP_WAIT_SECONDS));
            long after = heap.stats().usedBytes();
            System.out.println("shm-receive: heap used " + after + " B (before " + before + " B)"
                    + (after == before && leftover == 0 ? " -> back at baseline" : " -> NOT at baseline"));
            return status == 0 && after == before && leftover == 0 ? 0 : 1;
        }
    }
}
