package dev.shmheap.cli;

import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** docs/grafana/shm-heap-dashboard.json is valid JSON and queries only metrics that serve's /metrics has. */
class GrafanaDashboardTest {
    private static final Path DASHBOARD = Path.of("..", "docs", "grafana", "shm-heap-dashboard.json");
    private static final Pattern METRIC = Pattern.compile("\\bshmheap_[a-z_]+");

    @Test
    void shouldQueryOnlyMetricsThatServeExposes() throws Exception {
        Map<String, Object> dashboard = Json.object(Json.parse(Files.readString(DASHBOARD)));
        List<String> expressions = new ArrayList<>();
        collectExpressions(dashboard, expressions);
        assertTrue(expressions.size() > 10, "the dashboard's queries: " + expressions);
        Set<String> queried = new TreeSet<>();
        for (String expr : expressions) {
            Matcher m = METRIC.matcher(expr);
            while (m.find()) {
                queried.add(m.group());
            }
        }

        Path file = Cli.newPath("grafana");
        try {
            try (ShmHeap heap = ShmHeap.create(file, 4 << 20)) {
                heap.allocate(100);
                WatchedHeap watched = new WatchedHeap(file);
                watched.attachOrThrow();
                try (HeapServer server = HeapServer.start(List.of(watched), new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        Duration.ofSeconds(1), 10)) {
                    Set<String> exposed = Exposition.parse(server.metrics()).types.keySet();
                    Set<String> missing = new TreeSet<>(queried);
                    missing.removeAll(exposed);
                    assertEquals(Set.of(), missing, "queried by the dashboard but not in /metrics");
                } finally {
                    watched.close();
                }
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static void collectExpressions(Object node, List<String> out) {
        if (node instanceof Map<?, ?> map) {
            map.forEach((key, value) -> {
                if ("expr".equals(key) || "definition".equals(key)) {
                    out.add((String) value);
                } else {
                    collectExpressions(value, out);
                }
            });
        } else if (node instanceof List<?> list) {
            list.forEach(item -> collectExpressions(item, out));
        }
    }
}
