package dev.shmheap.cli;

import dev.shmheap.AttachOption;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "serve",
        description = {"Serve live figures of heaps over HTTP until stopped.",
                "/metrics: the Prometheus text exposition (the names of stats --format prometheus, a heap label per heap, "
                        + "shmheap_up 0 for a heap whose file is missing or unusable); /api/stats?heap=INDEX: the JSON of "
                        + "stats --json; /: a page that redraws itself every interval (the map, use over time, allocation and "
                        + "free rates, holdings per process with the dead marked, lock takeovers and reclamations). Only reads "
                        + "the files: read permission is enough and no byte changes. A file that disappears or is replaced is "
                        + "reported and attached again when it is back. Ctrl-C stops it."})
final class ServeCommand implements Callable<Integer> {
    /** The port when none is given: in the range Prometheus exporters use, not taken by a well-known one. */
    static final int DEFAULT_PORT = 9471;
    /** Samples kept per heap for the page's lines: ten minutes at the default interval. */
    static final int DEFAULT_HISTORY = 600;
    static final Duration MIN_INTERVAL = Duration.ofMillis(100);

    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
    boolean help;

    @Option(names = "--port", paramLabel = "N", defaultValue = "" + DEFAULT_PORT,
            description = "TCP port to listen on, 0..65535; 0 picks a free one (the first line of output names it). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--bind", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "Address to listen on: the loopback interface unless told otherwise (0.0.0.0 or :: for all; the figures "
                    + "name files and pids). Default: ${DEFAULT-VALUE}.")
    String bind;

    @Option(names = {"-i", "--interval"}, paramLabel = "DURATION", defaultValue = "1s", converter = TopCommand.DurationConverter.class,
            description = "Time between the samples the page draws and between its refreshes, at least 100ms. Default: ${DEFAULT-VALUE}.")
    Duration interval;

    @Option(names = "--history", paramLabel = "N", defaultValue = "" + DEFAULT_HISTORY,
            description = "Samples kept per heap for the page's lines, 2..100000. Default: ${DEFAULT-VALUE}.")
    int history;

    @Option(names = "--trust-file", description = "Attach even if a HEAP is a symbolic link, another user's file (unless shared with "
            + "a group you are in) or writable by others; without it such a file is refused, as by every command.")
    boolean trustFile;

    @Parameters(index = "0..*", arity = "1..*", paramLabel = "HEAP", description = "Heap files, e.g. /dev/shm/app.heap.")
    List<Path> files;

    @Override
    public Integer call() throws Exception {
        InetSocketAddress address = checkedAddress();
        List<WatchedHeap> heaps = new ArrayList<>();
        PrintWriter err = spec.commandLine().getErr();
        for (Path file : new LinkedHashSet<>(files)) {
            WatchedHeap heap = new WatchedHeap(file, change -> {
                err.println("shm-heap serve: " + change);
                err.flush();
            }, trustFile ? new AttachOption[] {AttachOption.TRUST_ANY_FILE} : new AttachOption[0]);
            heaps.add(heap);
            try {
                heap.attachOrThrow(); // a wrong path at the start is a mistake on the command line
            } catch (IOException | RuntimeException e) {
                heaps.forEach(WatchedHeap::close);
                throw e;
            }
        }
        HeapServer server;
        try {
            server = HeapServer.start(heaps, address, interval, history);
        } catch (BindException e) {
            heaps.forEach(WatchedHeap::close);
            throw new Failures.CommandFailure("cannot listen on " + bind + ":" + port + ": " + e.getMessage(), ExitCodes.UNUSABLE);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("serving " + server.url() + " for " + heaps.size() + (heaps.size() == 1 ? " heap" : " heaps") + "; /metrics, /api/stats; Ctrl-C stops");
        out.flush();
        awaitShutdown(server, heaps);
        return ExitCodes.OK;
    }

    private InetSocketAddress checkedAddress() {
        if (port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "--port " + port + " is outside 0..65535");
        }
        if (interval.compareTo(MIN_INTERVAL) < 0) {
            throw new ParameterException(spec.commandLine(), "--interval " + interval.toMillis() + "ms is shorter than 100ms");
        }
        if (history < 2 || history > 100_000) {
            throw new ParameterException(spec.commandLine(), "--history " + history + " is outside 2..100000");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(bind), port);
        } catch (UnknownHostException e) {
            throw new ParameterException(spec.commandLine(), "--bind " + bind + " is not an address of this host: " + e.getMessage());
        }
    }

    /**
     * Blocks until the JVM shuts down (Ctrl-C, SIGTERM); the hook stops the server and waits for
     * what is in flight before the heaps are unmapped, so no thread reads an unmapped heap.
     */
    private static void awaitShutdown(HeapServer server, List<WatchedHeap> heaps) {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            heaps.forEach(WatchedHeap::close);
            stopped.countDown();
        }, "shm-heap serve shutdown"));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
