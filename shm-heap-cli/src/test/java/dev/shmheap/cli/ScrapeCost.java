package dev.shmheap.cli;

import dev.shmheap.CreateOption;
import dev.shmheap.HeapObserver;
import dev.shmheap.ShmHeap;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A driver, not a test: what one {@code /metrics} scrape of {@code serve} costs on a heap with
 * many live blocks. Creates the heap, has a child JVM allocate and hold the blocks, serves it
 * in this JVM (the sampler running, as in production) and times scrapes over HTTP from this JVM.
 *
 * <pre>
 * java $FLAGS -cp TEST_CLASSPATH dev.shmheap.cli.ScrapeCost CAPACITY_BYTES SPARSE(true|false) SCRAPES
 * </pre>
 * The blocks: 60,000 of 64 B, 25,000 of 500 B, 14,000 of 3,000 B and 1,000 of 50,000 B (100,000
 * in all, about 138 MB).
 */
public final class ScrapeCost {
    private static final List<String> ALLOCATIONS = List.of("allocate 60000 64", "allocate 25000 500", "allocate 14000 3000",
            "allocate 1000 50000");
    private static final int WARM_UP_SCRAPES = 30;

    private ScrapeCost() {
    }

    public static void main(String[] args) throws Exception {
        long capacity = Long.parseLong(args[0]);
        boolean sparse = Boolean.parseBoolean(args[1]);
        int scrapes = Integer.parseInt(args[2]);
        Path file = Cli.newPath("scrape-cost");
        try {
            (sparse ? ShmHeap.create(file, capacity, CreateOption.SPARSE) : ShmHeap.create(file, capacity)).close();
            try (HeapChanger changer = HeapChanger.start(file)) {
                for (String command : ALLOCATIONS) {
                    changer.command(command);
                }
                measure(file, scrapes);
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static void measure(Path file, int scrapes) throws Exception {
        WatchedHeap heap = new WatchedHeap(file);
        heap.attachOrThrow();
        try (HeapServer server = HeapServer.start(List.of(heap), new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                Duration.ofSeconds(1), ServeCommand.DEFAULT_HISTORY)) {
            HttpClient client = HttpClient.newHttpClient();
            HttpRequest request = HttpRequest.newBuilder(URI.create(server.url() + "metrics")).build();
            int bytes = 0;
            for (int i = 0; i < WARM_UP_SCRAPES; i++) {
                bytes = client.send(request, HttpResponse.BodyHandlers.ofString()).body().length();
            }
            double[] millis = new double[scrapes];
            for (int i = 0; i < scrapes; i++) {
                long start = System.nanoTime();
                HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                millis[i] = (System.nanoTime() - start) / 1e6;
                if (response.statusCode() != 200) {
                    throw new IllegalStateException("scrape " + i + ": status " + response.statusCode());
                }
            }
            double[] stats = new double[scrapes];
            for (int i = 0; i < scrapes; i++) {
                long start = System.nanoTime();
                heap.snapshot().orElseThrow();
                stats[i] = (System.nanoTime() - start) / 1e6;
            }
            Arrays.sort(millis);
            Arrays.sort(stats);
            long used = heap.snapshot().orElseThrow().stats().usedBytes();
            System.out.printf(Locale.ROOT, "heap %s: capacity %d, used %d; %d scrapes of %d bytes over HTTP: median %.2f ms, p90 %.2f ms, "
                            + "p99 %.2f ms, max %.2f ms; the stats read alone: median %.2f ms, max %.2f ms%n", file, heap.read(HeapObserver::capacity).orElseThrow(),
                    used, scrapes, bytes, millis[scrapes / 2], millis[scrapes * 9 / 10], millis[scrapes * 99 / 100], millis[scrapes - 1], stats[scrapes / 2], stats[scrapes - 1]);
        } finally {
            heap.close();
        }
    }
}
