package dev.shmheap.cli;

import dev.shmheap.HeapObserver;
import dev.shmheap.HeapStats;
import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code serve}'s page in a real browser: headless Chromium (Debian's {@code chromium}
 * package, which .ci/run installs) loads {@code /} from a server watching a heap that a child
 * JVM changed and a dead process still holds blocks of, runs the page's script until it has
 * refreshed, and the figures in the rendered DOM are checked against the heap; a screenshot
 * lands in {@code target/serve-page.png}. Skipped, saying so, only where no Chromium is found.
 */
class ServePageBrowserTest {
    /** Where Chromium is looked for when SHMHEAP_CHROMIUM does not name it. */
    private static final List<String> BROWSERS = List.of("chromium", "chromium-browser", "google-chrome");
    /** Virtual time the page gets to load and refresh: several refreshes at the test's interval. */
    private static final Duration PAGE_TIME = Duration.ofSeconds(4);
    private static final Duration INTERVAL = Duration.ofMillis(250);
    private static final Duration BROWSER_TIMEOUT = Duration.ofSeconds(120);
    private static Path chromium;

    private final List<Path> cleanup = new ArrayList<>();

    @BeforeAll
    static void findChromium() {
        chromium = locateChromium().orElse(null);
        assumeTrue(chromium != null, "no Chromium found (set SHMHEAP_CHROMIUM, or `apt-get install chromium` as .ci/run does): "
                + "the browser test of serve's page is skipped");
    }

    static Optional<Path> locateChromium() {
        String named = System.getenv("SHMHEAP_CHROMIUM");
        if (named != null && !named.isBlank()) {
            return Optional.of(Path.of(named)).filter(Files::isExecutable);
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String name : BROWSERS) {
                Path candidate = Path.of(dir, name);
                if (Files.isExecutable(candidate)) {
                    return Optional.of(candidate);
                }
            }
        }
        return Optional.empty();
    }

    @AfterEach
    void deleteFiles() throws IOException {
        for (Path path : cleanup) {
            if (Files.isDirectory(path)) {
                try (Stream<Path> walk = Files.walk(path)) {
                    walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            } else {
                Files.deleteIfExists(path);
            }
        }
    }

    @Test
    void shouldShowTheFiguresOfTheHeapAfterARefresh() throws Exception {
        Path file = Cli.newPath("browser");
        cleanup.add(file);
        ShmHeap.create(file, 32 << 20).close();
        WatchedHeap watched = new WatchedHeap(file);
        watched.attachOrThrow();
        try (HeapChanger changer = HeapChanger.start(file);
             HeapServer server = HeapServer.start(List.of(watched), new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), INTERVAL, 600)) {
            changer.command("allocate 2000 200");
            changer.command("allocate 12 200000");
            DeadHolder.leave(file, 40, 5000, 0);
            assertEquals(0, Cli.run("reclaim", file.toString()).exitCode(), "a reclamation for the page's events");
            changer.command("churn 1500 64");
            long deadPid = DeadHolder.leave(file, 3000, 64, 0);
            TimeUnit.MILLISECONDS.sleep(3 * INTERVAL.toMillis()); // samples of the quiet heap

            HeapStats stats;
            try (HeapObserver heap = HeapObserver.open(file)) {
                stats = heap.stats();
            }
            String dom = browse(server.url(), "--dump-dom");
            assertTrue(Integer.parseInt(attribute(dom, "body", "data-refreshes")) >= 2, "the page refreshed at least once after loading");
            assertEquals("up", text(dom, "state"));
            assertEquals(stats.totalBytes(), value(dom, "kpi-capacity"));
            assertEquals(stats.usedBytes(), value(dom, "kpi-used"));
            assertEquals(Sizes.human(stats.usedBytes()), text(dom, "kpi-used"), "sizes are written as the command line writes them");
            assertEquals(stats.availableBytes(), value(dom, "kpi-available"));
            assertEquals(stats.largestFreeBlock(), value(dom, "kpi-largest"));
            assertEquals(stats.lockTakeovers(), value(dom, "kpi-takeovers"));
            assertEquals(stats.reclaimedBlocks(), value(dom, "kpi-reclaimed"));
            assertTrue(stats.reclaimedBlocks() >= 40, "the first dead holder's blocks were reclaimed: " + stats);
            assertTrue(dom.contains("class=\"kind-reclaim\""), "the reclamation is listed among the events");
            assertTrue(Long.parseLong(attribute(dom, "canvas id=\"map\"", "data-cells")) > 0, "the map was drawn");
            assertHolder(dom, changer.pid(), true, stats);
            assertHolder(dom, deadPid, false, stats);

            Path screenshot = Path.of("target", "serve-page.png").toAbsolutePath();
            Files.deleteIfExists(screenshot);
            browse(server.url(), "--screenshot=" + screenshot, "--window-size=1400,1250", "--hide-scrollbars");
            assertTrue(Files.size(screenshot) > 10_000, "a screenshot of the page in " + screenshot);

            Files.delete(file); // the heap disappears: the page says so instead of showing stale figures as current
            String gone = browse(server.url(), "--dump-dom");
            assertEquals("missing", text(gone, "state"));
            assertTrue(text(gone, "banner").startsWith("Heap " + file + " is missing: no file at " + file), gone);
        } finally {
            watched.close();
        }
    }

    /** The holdings row of {@code pid}: marked dead or alive, with the bytes the heap says it holds. */
    private static void assertHolder(String dom, long pid, boolean alive, HeapStats stats) {
        long bytes = stats.holdings().processes().stream().filter(p -> p.pid() == pid).findFirst()
                .orElseThrow(() -> new AssertionError("the heap lists no holdings of pid " + pid)).bytes();
        Matcher row = Pattern.compile("<tr class=\"" + (alive ? "" : "dead") + "\" data-pid=\"" + pid + "\" data-bytes=\"(\\d+)\" data-alive=\""
                + alive + "\">").matcher(dom);
        assertTrue(row.find(), "a row for " + (alive ? "live" : "dead") + " pid " + pid + " in the holdings table");
        assertEquals(bytes, Long.parseLong(row.group(1)));
    }

    /** Runs headless Chromium on {@code url} in a fresh profile; returns what it printed. */
    private String browse(String url, String... extra) throws Exception {
        Path profile = Files.createTempDirectory("shmheap-chromium-");
        cleanup.add(profile);
        List<String> command = new ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile, "--virtual-time-budget=" + PAGE_TIME.toMillis()));
        command.addAll(List.of(extra));
        command.add(url);
        Path log = Files.createTempFile("shmheap-chromium-", ".log");
        cleanup.add(log);
        Process process = new ProcessBuilder(command).redirectError(log.toFile()).start();
        byte[] out = process.getInputStream().readAllBytes();
        if (!process.waitFor(BROWSER_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("Chromium did not finish within " + BROWSER_TIMEOUT + ": " + Files.readString(log));
        }
        assertEquals(0, process.exitValue(), () -> "Chromium failed: " + readQuietly(log));
        return new String(out, StandardCharsets.UTF_8);
    }

    private static String readQuietly(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static long value(String dom, String id) {
        return Long.parseLong(attribute(dom, "[a-z]+ [^>]*id=\"" + id + "\"", "data-value"));
    }

    private static String attribute(String dom, String element, String name) {
        Matcher m = Pattern.compile("<" + element + "[^>]*\\b" + name + "=\"([^\"]*)\"").matcher(dom);
        assertTrue(m.find(), () -> "no " + name + " on <" + element + "> in the page: " + dom);
        return m.group(1);
    }

    private static String text(String dom, String id) {
        Matcher m = Pattern.compile("id=\"" + id + "\"[^>]*>([^<]*)<").matcher(dom);
        assertTrue(m.find(), () -> "no element " + id + " in the page: " + dom);
        return m.group(1);
    }
}
