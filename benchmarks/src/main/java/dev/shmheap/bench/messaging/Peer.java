package dev.shmheap.bench.messaging;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Main class of the peer JVMs {@link MessagingBench} starts: one role per process. Prints
 * nothing on success; exits with status 1 and a stack trace on stderr on failure.
 */
public final class Peer {
    static final String FLOOR_PONG = "floor-pong";
    static final String RING_PONG = "ring-pong";
    static final String OURS_PONG = "ours-pong";
    static final String OURS_SEND = "ours-send";
    static final String AERON_PONG = "aeron-pong";
    static final String AERON_SEND = "aeron-send";

    private Peer() {
    }

    public static void main(String[] args) {
        try {
            run(args);
            System.exit(0);
        } catch (Throwable t) {
            System.err.println("messaging peer " + String.join(" ", args) + " failed:");
            t.printStackTrace();
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        if (args.length < 2) {
            throw new IllegalArgumentException("usage: Peer ROLE PATH [SIZE TOTAL]");
        }
        switch (args[0]) {
            case FLOOR_PONG -> CacheLineFloor.pong(Path.of(args[1]));
            case RING_PONG -> CacheLineFloor.ringPong(Path.of(args[1]));
            case OURS_PONG -> OursBench.pong(Path.of(args[1]));
            case OURS_SEND -> OursBench.send(Path.of(args[1]), Integer.parseInt(args[2]), Long.parseLong(args[3]));
            case AERON_PONG -> AeronBench.pong(args[1]);
            case AERON_SEND -> AeronBench.send(args[1], Integer.parseInt(args[2]), Long.parseLong(args[3]));
            default -> throw new IllegalArgumentException("unknown role " + args[0]);
        }
    }

    /** Blocks until the parent says "done" on stdin (or closes it, or dies). */
    static void awaitRelease() throws IOException {
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII)).readLine();
    }
}
