package dev.shmheap.cli;

import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NamesCommandTest {
    private Path file;
    private long orders;
    private long prices;

    @BeforeEach
    void createHeapWithNames() throws Exception {
        file = Cli.newPath("names");
        try (ShmHeap heap = ShmHeap.create(file, 1 << 20)) {
            orders = heap.allocate(100);
            prices = heap.allocate(20_000);
            heap.bind("orders", orders);
            heap.bind("prices", prices);
            heap.bind("unbound-later", heap.allocate(64));
            heap.unbind("unbound-later");
        }
    }

    @AfterEach
    void deleteHeap() throws Exception {
        Files.deleteIfExists(file);
    }

    @Test
    void shouldListBoundNamesWithOffsetAndSizeInNameOrder() {
        Cli.Result result = Cli.run("names", file.toString());
        assertEquals(0, result.exitCode(), result::toString);
        assertEquals("", result.err());
        List<String> lines = result.out().lines().toList();
        assertEquals(file + ": 2 name(s) bound", lines.get(0), result::toString);
        assertEquals(List.of("name", "offset", "size"), List.of(lines.get(1).trim().split(" +")), result::toString);
        assertEquals(List.of("orders", String.valueOf(orders), "128", "128", "B"), List.of(lines.get(2).trim().split(" +")), result::toString);
        assertEquals(List.of("prices", String.valueOf(prices), "32768", "32", "KiB"), List.of(lines.get(3).trim().split(" +")), result::toString);
        assertEquals(4, lines.size(), "an unbound name is not listed: " + result);
    }

    @Test
    void shouldPrintNamesAsJson() {
        Cli.Result result = Cli.run("names", file.toString(), "--json");
        assertEquals(0, result.exitCode(), result::toString);
        Map<String, Object> json = Json.object(Json.parse(result.out()));
        assertEquals(List.of("schema", "file", "names"), List.copyOf(json.keySet()));
        assertEquals(1L, Json.integer(json.get("schema")));
        assertEquals(file.toString(), json.get("file"));
        List<Object> names = Json.array(json.get("names"));
        assertEquals(2, names.size(), result::toString);
        Map<String, Object> first = Json.object(names.get(0));
        assertEquals(List.of("name", "offset", "size"), List.copyOf(first.keySet()));
        assertEquals("orders", first.get("name"));
        assertEquals(orders, Json.integer(first.get("offset")));
        assertEquals(128L, Json.integer(first.get("size")));
        assertEquals("prices", Json.object(names.get(1)).get("name"));
        assertEquals(32768L, Json.integer(Json.object(names.get(1)).get("size")));
    }

    @Test
    void shouldSaySoWhenNoNameIsBound() throws Exception {
        Path empty = Cli.newPath("names-empty");
        try {
            ShmHeap.create(empty, 1 << 20).close();
            Cli.Result text = Cli.run("names", empty.toString());
            assertEquals(0, text.exitCode(), text::toString);
            assertEquals(empty + ": no names bound\n", text.out());
            Cli.Result json = Cli.run("names", empty.toString(), "--json");
            assertEquals(List.of(), Json.array(Json.object(Json.parse(json.out())).get("names")));
        } finally {
            Files.deleteIfExists(empty);
        }
    }

    @Test
    void shouldExit2OnAMissingFile() {
        Path missing = Cli.newPath("names-missing");
        Cli.Result result = Cli.run("names", missing.toString());
        assertEquals(2, result.exitCode(), result::toString);
        assertTrue(result.err().startsWith("shm-heap: " + missing + ": no such file"), result::toString);
    }
}
