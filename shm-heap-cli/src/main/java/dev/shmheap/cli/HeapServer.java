package dev.shmheap.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP side of {@code serve}: {@code /metrics}, {@code /api/stats}, the live page and the
 * JSON it polls, over a set of {@link WatchedHeap}s, plus a sampler that adds one
 * {@link HeapHistory} sample per heap every interval (the page's lines over time).
 *
 * <p>It runs on the JDK's own {@code com.sun.net.httpserver} (module {@code jdk.httpserver},
 * in every JDK since 6 and supported API): five GET endpoints on the loopback interface need no
 * routing, TLS or servlet container, and every dependency we add ships inside the CLI's jar and
 * has to be kept up to date, Jetty or Undertow alone being several times the size of the
 * whole CLI. Its limits (HTTP/1.1 only, a plain thread pool) do not matter at a few scrapes a
 * second.
 *
 * <p>Every figure is read without changing the file; a request never fails because one heap
 * is missing: {@code /metrics} reports it with {@code shmheap_up 0}.
 */
final class HeapServer implements AutoCloseable {
    /** Threads answering requests: a scrape and a page or two at once. */
    static final int WORKERS = 4;
    /** Connections the kernel queues before accepting. */
    static final int BACKLOG = 32;
    /** The map the page asks for when it does not say: about as wide as a laptop window. */
    static final int MAP_WIDTH = 128;
    static final int MAP_ROWS = 48;
    /** How long close waits for a sample or request in flight (a map walk waits up to a second for a quiet heap). */
    static final Duration STOP_WAIT = Duration.ofSeconds(2);
    static final String METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    static final String JSON_TYPE = "application/json; charset=utf-8";
    /** The page and its assets come from here and nowhere else: no CDN, no inline script. */
    static final String CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'";
    /** Static files of the page, in the jar under {@link #ASSET_ROOT}, by URL path. */
    private static final Map<String, String> ASSETS = Map.of(
            "/", "index.html",
            "/index.html", "index.html",
            "/app.js", "app.js",
            "/app.css", "app.css",
            "/favicon.svg", "favicon.svg");
    private static final String ASSET_ROOT = "/dev/shmheap/cli/serve/";

    static {
        // The JDK server writes the headers and the body of a response apart; without TCP_NODELAY,
        // Nagle's algorithm holds the body until the client's delayed ACK: about 40 ms per scrape.
        // Read once, when the server's configuration class loads: before the first server is created.
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    private final List<WatchedHeap> heaps;
    private final List<HeapHistory> histories = new ArrayList<>();
    private final long intervalMillis;
    private final HttpServer server;
    private final ExecutorService workers = Executors.newFixedThreadPool(WORKERS, daemon("shm-heap serve http"));
    private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(daemon("shm-heap serve sampler"));
    private final Map<String, byte[]> assets = new HashMap<>();

    private HeapServer(List<WatchedHeap> heaps, InetSocketAddress address, Duration interval, int historySamples) throws IOException {
        this.heaps = List.copyOf(heaps);
        this.intervalMillis = interval.toMillis();
        for (int i = 0; i < heaps.size(); i++) {
            histories.add(new HeapHistory(historySamples));
        }
        for (String asset : ASSETS.values()) {
            assets.put(asset, readAsset(asset));
        }
        server = HttpServer.create(address, BACKLOG);
        server.setExecutor(workers);
        server.createContext("/", exchange -> handle(exchange, this::asset));
        server.createContext("/metrics", exchange -> handle(exchange, e -> send(e, 200, METRICS_TYPE, metrics())));
        server.createContext("/api/heaps", exchange -> handle(exchange, e -> send(e, 200, JSON_TYPE, LiveJson.heaps(this.heaps))));
        server.createContext("/api/stats", exchange -> handle(exchange, this::stats));
        server.createContext("/api/live", exchange -> handle(exchange, this::live));
        server.createContext("/api/map", exchange -> handle(exchange, this::map));
    }

    /** Starts listening and sampling; the heaps stay owned by the caller, who closes them after {@link #close()}. */
    static HeapServer start(List<WatchedHeap> heaps, InetSocketAddress address, Duration interval, int historySamples) throws IOException {
        HeapServer s = new HeapServer(heaps, address, interval, historySamples);
        s.server.start();
        s.sampler.scheduleAtFixedRate(s::sampleAll, 0, s.intervalMillis, TimeUnit.MILLISECONDS);
        return s;
    }

    InetSocketAddress address() {
        return server.getAddress();
    }

    /** The page's URL. */
    String url() {
        InetSocketAddress a = address();
        String host = a.getAddress().getHostAddress();
        return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort() + "/";
    }

    /** One sample of every heap; never throws, or the scheduler would stop sampling. */
    private void sampleAll() {
        for (int i = 0; i < heaps.size(); i++) {
            try {
                Optional<HeapSnapshot> snapshot = heaps.get(i).snapshot();
                if (snapshot.isPresent()) {
                    histories.get(i).add(snapshot.get());
                } else {
                    histories.get(i).addDown(System.currentTimeMillis());
                }
            } catch (RuntimeException e) {
                histories.get(i).addDown(System.currentTimeMillis());
            }
        }
    }

    /** The exposition of every heap read now, then serve's own families for all of them. */
    String metrics() {
        List<HeapSnapshot> snapshots = new ArrayList<>();
        boolean[] up = new boolean[heaps.size()];
        for (int i = 0; i < heaps.size(); i++) {
            Optional<HeapSnapshot> snapshot = heaps.get(i).snapshot();
            up[i] = snapshot.isPresent();
            snapshot.ifPresent(snapshots::add);
        }
        PrometheusReport report = new PrometheusReport().heaps(snapshots);
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < heaps.size(); i++) {
            all.add(i);
        }
        report.each(all, i -> heaps.get(i).file(), "shmheap_up", "gauge",
                "1 when serve read the heap for this scrape; 0 when the file is missing or unusable (its other figures are absent then).",
                i -> report.sample("", up[i] ? 1 : 0));
        report.each(all, i -> heaps.get(i).file(), "shmheap_reattachments_total", "counter",
                "Times serve attached the heap's file again after it was replaced or came back.",
                i -> report.sample("", heaps.get(i).reattachments()));
        return report.toString();
    }

    private void stats(HttpExchange e) throws IOException {
        int index = heapIndex(e);
        Optional<HeapSnapshot> snapshot = heaps.get(index).snapshot();
        if (snapshot.isEmpty()) {
            sendError(e, 503, heapDown(index));
            return;
        }
        send(e, 200, JSON_TYPE, StatsReport.json(snapshot.get()) + "\n");
    }

    private void live(HttpExchange e) throws IOException {
        int index = heapIndex(e);
        send(e, 200, JSON_TYPE, LiveJson.live(index, heaps.get(index), histories.get(index), intervalMillis));
    }

    private void map(HttpExchange e) throws IOException {
        int index = heapIndex(e);
        Map<String, String> query = query(e);
        int width = intParameter(query, "width", MAP_WIDTH, 8, 1024);
        int rows = intParameter(query, "rows", MAP_ROWS, 1, 1024);
        Optional<HeapPicture> picture = heaps.get(index).read(heap -> HeapPicture.of(heap, width, rows));
        if (picture.isEmpty()) {
            sendError(e, 503, heapDown(index));
            return;
        }
        send(e, 200, JSON_TYPE, LiveJson.map(picture.get()));
    }

    private String heapDown(int index) {
        WatchedHeap heap = heaps.get(index);
        return "heap " + heap.file() + " is " + LiveJson.stateName(heap.state()) + ": " + heap.problem();
    }

    private void asset(HttpExchange e) throws IOException {
        String name = ASSETS.get(e.getRequestURI().getPath());
        if (name == null) {
            sendError(e, 404, "no such page: " + e.getRequestURI().getPath() + " (try /, /metrics or /api/stats)");
            return;
        }
        e.getResponseHeaders().set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
        send(e, 200, contentType(name), assets.get(name));
    }

    static String contentType(String asset) {
        if (asset.endsWith(".html")) {
            return "text/html; charset=utf-8";
        }
        if (asset.endsWith(".js")) {
            return "text/javascript; charset=utf-8";
        }
        if (asset.endsWith(".css")) {
            return "text/css; charset=utf-8";
        }
        return "image/svg+xml";
    }

    /** The heap a request names with {@code heap=INDEX}; optional when there is one heap. */
    private int heapIndex(HttpExchange e) {
        String value = query(e).get("heap");
        if (value == null && heaps.size() == 1) {
            return 0;
        }
        StringBuilder choices = new StringBuilder();
        for (int i = 0; i < heaps.size(); i++) {
            choices.append(i == 0 ? "" : ", ").append(i).append(" = ").append(heaps.get(i).file());
        }
        if (value == null) {
            throw new BadRequest("heap=INDEX is required with " + heaps.size() + " heaps: " + choices);
        }
        try {
            int index = Integer.parseInt(value);
            if (index >= 0 && index < heaps.size()) {
                return index;
            }
        } catch (NumberFormatException ignored) {
            // reported below with the choices
        }
        throw new BadRequest("heap=" + value + " is not one of " + choices);
    }

    private static int intParameter(Map<String, String> query, String name, int fallback, int min, int max) {
        String value = query.get(name);
        if (value == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new BadRequest(name + "=" + value + " is outside " + min + ".." + max);
    }

    static Map<String, String> query(HttpExchange e) {
        Map<String, String> query = new HashMap<>();
        String raw = e.getRequestURI().getRawQuery();
        if (raw == null || raw.isEmpty()) {
            return query;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            query.put(name, eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return query;
    }

    /** A request that names something wrong: 400 with the message. */
    private static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadRequest(String message) {
            super(message);
        }
    }

    @FunctionalInterface
    private interface Handler {
        void handle(HttpExchange exchange) throws IOException;
    }

    /** GET and HEAD only; a bad request gets 400, anything unexpected 500 with one line, and the server goes on. */
    private static void handle(HttpExchange exchange, Handler handler) {
        try {
            String method = exchange.getRequestMethod();
            if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                sendError(exchange, 405, method + " is not supported: everything here is read with GET");
                return;
            }
            try {
                handler.handle(exchange);
            } catch (BadRequest e) {
                sendError(exchange, 400, e.getMessage());
            } catch (RuntimeException e) {
                sendError(exchange, 500, Failures.describe(e));
            }
        } catch (IOException e) {
            // the client went away mid-answer: nothing to tell it
        } finally {
            exchange.close();
        }
    }

    private static void sendError(HttpExchange e, int status, String message) throws IOException {
        send(e, status, "text/plain; charset=utf-8", "shm-heap serve: " + message + "\n");
    }

    private static void send(HttpExchange e, int status, String type, String body) throws IOException {
        send(e, status, type, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange e, int status, String type, byte[] body) throws IOException {
        e.getResponseHeaders().set("Content-Type", type);
        e.getResponseHeaders().set("Cache-Control", "no-store");
        e.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        boolean head = e.getRequestMethod().equals("HEAD");
        e.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = e.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private static byte[] readAsset(String name) {
        try (InputStream in = HeapServer.class.getResourceAsStream(ASSET_ROOT + name)) {
            if (in == null) {
                throw new IllegalStateException("the page's " + name + " is missing from the jar at " + ASSET_ROOT);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ThreadFactory daemon(String name) {
        return runnable -> {
            Thread t = new Thread(runnable, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** Stops answering and sampling; waits for a sample or request in flight so that the heaps can be closed after. */
    @Override
    public void close() {
        server.stop(0);
        sampler.shutdownNow();
        workers.shutdownNow();
        try {
            sampler.awaitTermination(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            workers.awaitTermination(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
