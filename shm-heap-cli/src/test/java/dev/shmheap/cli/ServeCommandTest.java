package dev.shmheap.cli;

import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code serve} as a user runs it (a child JVM) on heaps that another child JVM changes: what
 * it serves agrees with {@code stats --json} read at the same moment (the changer is still
 * between commands), through changes, a dead holder, a file that disappears and comes back,
 * several heaps and a read-only file.
 */
class ServeCommandTest {
    private static final long CAPACITY = 16 << 20;
    private final List<Path> files = new ArrayList<>();

    @AfterEach
    void deleteHeaps() throws Exception {
        for (Path file : files) {
            Files.deleteIfExists(file);
        }
    }

    private Path newHeap(String label, long capacity) throws Exception {
        Path file = Cli.newPath(label);
        files.add(file);
        ShmHeap.create(file, capacity).close();
        return file;
    }

    private static Map<String, Object> statsJson(Path file) {
        Cli.Result result = Cli.run("stats", "--json", file.toString());
        assertEquals(0, result.exitCode(), result::toString);
        return Json.object(Json.parse(result.out()));
    }

    private static long at(Map<String, Object> json, String... path) {
        Object value = json;
        for (String name : path) {
            value = Json.object(value).get(name);
        }
        return Json.integer(value);
    }

    /** Every figure of /metrics for {@code file} against stats --json of the same (quiet) moment. */
    private static void assertMetricsAgreeWithStats(ServeProcess serve, Path file) throws Exception {
        Exposition m = Exposition.parse(serve.get("metrics", 200));
        Map<String, Object> json = statsJson(file);
        String heap = file.toString();
        assertEquals(1, m.value("shmheap_up", "heap", heap));
        assertEquals(at(json, "totalBytes"), m.value("shmheap_capacity_bytes", "heap", heap));
        assertEquals(at(json, "usedBytes"), m.value("shmheap_used_bytes", "heap", heap));
        assertEquals(at(json, "availableBytes"), m.value("shmheap_available_bytes", "heap", heap));
        assertEquals(at(json, "buddy", "freeBytes"), m.value("shmheap_buddy_free_bytes", "heap", heap));
        assertEquals(at(json, "buddy", "largestFreeBlock"), m.value("shmheap_largest_free_block_bytes", "heap", heap));
        assertEquals(at(json, "buddy", "allocations"), m.value("shmheap_buddy_allocations_total", "heap", heap));
        assertEquals(at(json, "buddy", "frees"), m.value("shmheap_buddy_frees_total", "heap", heap));
        for (Object c : Json.array(json.get("sizeClasses"))) {
            Map<String, Object> sizeClass = Json.object(c);
            String block = String.valueOf(Json.integer(sizeClass.get("blockSize")));
            assertEquals(at(sizeClass, "usedBlocks"), m.value("shmheap_class_used_blocks", "heap", heap, "block_size", block));
            assertEquals(at(sizeClass, "totalBlocks"), m.value("shmheap_class_total_blocks", "heap", heap, "block_size", block));
            assertEquals(at(sizeClass, "allocations"), m.value("shmheap_class_allocations_total", "heap", heap, "block_size", block));
            assertEquals(at(sizeClass, "frees"), m.value("shmheap_class_frees_total", "heap", heap, "block_size", block));
        }
        List<Object> processes = Json.array(json.get("attachedProcesses"));
        assertEquals(processes.size(), m.value("shmheap_attached_processes", "heap", heap));
        assertEquals(processes.stream().filter(p -> Json.object(p).get("alive") == Boolean.FALSE).count(),
                m.value("shmheap_dead_processes", "heap", heap));
        for (Object p : Json.array(Json.object(json.get("holdings")).get("processes"))) {
            Map<String, Object> holder = Json.object(p);
            String[] labels = {"heap", heap, "pid", String.valueOf(at(holder, "pid")), "alive", String.valueOf(holder.get("alive"))};
            assertEquals(at(holder, "bytes"), m.value("shmheap_process_held_bytes", labels));
            assertEquals(at(holder, "blocks"), m.value("shmheap_process_held_blocks", labels));
        }
        assertEquals(at(json, "holdings", "deadBytes"), m.value("shmheap_dead_held_bytes", "heap", heap));
        assertEquals(at(json, "lockTakeovers"), m.value("shmheap_lock_takeovers_total", "heap", heap));
        assertEquals(at(json, "reclaimedBlocks"), m.value("shmheap_reclaimed_blocks_total", "heap", heap));
        assertEquals(at(json, "reclaimedBytes"), m.value("shmheap_reclaimed_bytes_total", "heap", heap));
    }

    @Test
    void shouldServeMetricsThatAgreeWithStatsJsonWhileAnotherProcessChangesTheHeap() throws Exception {
        Path file = newHeap("serve", CAPACITY);
        try (HeapChanger changer = HeapChanger.start(file); ServeProcess serve = ServeProcess.start("--interval", "100ms", file.toString())) {
            changer.command("allocate 1000 200");
            changer.command("allocate 5 100000");
            assertMetricsAgreeWithStats(serve, file);
            Exposition before = Exposition.parse(serve.get("metrics", 200));
            assertEquals(5L * 128 << 10, before.value("shmheap_process_held_bytes", "pid", String.valueOf(changer.pid())) - 1000L * 256,
                    "the changer holds its 1000 blocks of 256 B and 5 of 128 KiB");

            changer.command("free 300");
            assertMetricsAgreeWithStats(serve, file);

            // while it churns, the counters only grow and the capacity stays
            changer.send("churn 1500 64");
            TimeUnit.MILLISECONDS.sleep(300);
            Exposition during = Exposition.parse(serve.get("metrics", 200));
            TimeUnit.MILLISECONDS.sleep(300);
            Exposition later = Exposition.parse(serve.get("metrics", 200));
            changer.awaitDone();
            assertEquals(CAPACITY, during.value("shmheap_capacity_bytes"));
            long allocationsBefore = before.value("shmheap_class_allocations_total", "block_size", "64");
            long allocationsDuring = during.value("shmheap_class_allocations_total", "block_size", "64");
            assertTrue(allocationsDuring > allocationsBefore && later.value("shmheap_class_allocations_total", "block_size", "64") > allocationsDuring,
                    "64 B allocations grow while the changer churns: " + allocationsBefore + ", " + allocationsDuring);
            assertMetricsAgreeWithStats(serve, file);
        }
    }

    @Test
    void shouldServeTheSameJsonAsStatsJson() throws Exception {
        Path file = newHeap("serve-json", CAPACITY);
        try (HeapChanger changer = HeapChanger.start(file); ServeProcess serve = ServeProcess.start(file.toString())) {
            changer.command("allocate 700 1000");
            Map<String, Object> served = Json.object(Json.parse(serve.get("api/stats", 200)));
            Map<String, Object> printed = statsJson(file);
            served.remove("takenMillis");
            printed.remove("takenMillis");
            assertEquals(printed, served);
        }
    }

    @Test
    void shouldMarkTheHoldingsOfADeadProcess() throws Exception {
        Path file = newHeap("serve-dead", CAPACITY);
        try (ServeProcess serve = ServeProcess.start("--interval", "100ms", file.toString())) {
            HeapChanger changer = HeapChanger.start(file);
            changer.command("allocate 50 3000");
            changer.halt();
            assertMetricsAgreeWithStats(serve, file);
            Exposition m = Exposition.parse(serve.get("metrics", 200));
            assertEquals(50 * 4096, m.value("shmheap_process_held_bytes", "pid", String.valueOf(changer.pid()), "alive", "false"));
            assertEquals(50 * 4096, m.value("shmheap_dead_held_bytes"));
            assertEquals(1, m.value("shmheap_dead_processes"));
            // the page's holdings come from the sampler: wait for a sample taken after the death
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            Map<String, Object> holder;
            do {
                Map<String, Object> live = Json.object(Json.parse(serve.get("api/live", 200)));
                List<Object> holders = Json.array(live.get("processes"));
                holder = holders.isEmpty() ? Map.of() : Json.object(holders.get(0));
            } while (!Boolean.FALSE.equals(holder.get("alive")) && System.nanoTime() < deadline && sleepBriefly());
            assertEquals(changer.pid(), Json.integer(holder.get("pid")));
            assertEquals(Boolean.FALSE, holder.get("alive"), "the page's holdings mark the dead holder");
        }
    }

    private static boolean sleepBriefly() throws InterruptedException {
        TimeUnit.MILLISECONDS.sleep(50);
        return true;
    }

    @Test
    void shouldReportAHeapThatDisappearsAndAttachTheFileThatReplacesIt() throws Exception {
        Path file = newHeap("serve-gone", CAPACITY);
        try (ServeProcess serve = ServeProcess.start(file.toString())) {
            assertEquals(1, Exposition.parse(serve.get("metrics", 200)).value("shmheap_up"));

            Files.delete(file);
            Exposition gone = Exposition.parse(serve.get("metrics", 200));
            assertEquals(0, gone.value("shmheap_up", "heap", file.toString()));
            assertTrue(gone.find("shmheap_capacity_bytes").isEmpty(), "no figures of a missing heap");
            assertTrue(serve.get("api/stats", 503).contains("is missing: no file at " + file));
            assertEquals("missing", Json.object(Json.array(Json.parse(serve.get("api/heaps", 200))).get(0)).get("state"));

            Files.write(file, "not a heap".getBytes(StandardCharsets.UTF_8));
            assertEquals(0, Exposition.parse(serve.get("metrics", 200)).value("shmheap_up"));
            assertEquals("unusable", Json.object(Json.array(Json.parse(serve.get("api/heaps", 200))).get(0)).get("state"));

            Files.delete(file);
            ShmHeap.create(file, 2 * CAPACITY).close();
            Exposition back = Exposition.parse(serve.get("metrics", 200));
            assertEquals(1, back.value("shmheap_up"));
            assertEquals(2 * CAPACITY, back.value("shmheap_capacity_bytes"), "the figures are of the new file");
            assertEquals(1, back.value("shmheap_reattachments_total"));
            List<String> told = serve.errorLines(); // one line on stderr per change, not per look
            assertEquals(3, told.size(), told::toString);
            assertEquals("shm-heap serve: " + file + " is missing: no file at " + file, told.get(0));
            assertTrue(told.get(1).startsWith("shm-heap serve: " + file + " is unusable: " + file + ": not a shm-heap file"), told::toString);
            assertEquals("shm-heap serve: " + file + " is back: attached again", told.get(2));
        }
    }

    @Test
    void shouldServeSeveralHeapsWithEachFamilyOnce() throws Exception {
        Path first = newHeap("serve-a", CAPACITY);
        Path second = newHeap("serve-b", 2 * CAPACITY);
        try (ServeProcess serve = ServeProcess.start(first.toString(), second.toString())) {
            Exposition m = Exposition.parse(serve.get("metrics", 200)); // the parser rejects a family written twice
            assertEquals(CAPACITY, m.value("shmheap_capacity_bytes", "heap", first.toString()));
            assertEquals(2 * CAPACITY, m.value("shmheap_capacity_bytes", "heap", second.toString()));
            assertEquals(2, m.find("shmheap_up").size());
            assertTrue(serve.get("api/stats", 400).contains("heap=INDEX is required with 2 heaps: 0 = " + first + ", 1 = " + second));
            assertEquals(second.toString(), Json.object(Json.parse(serve.get("api/stats?heap=1", 200))).get("file"));
            assertTrue(serve.get("api/stats?heap=2", 400).contains("heap=2 is not one of"));
        }
    }

    @Test
    void shouldServeAFileWithMode0444WithoutChangingIt() throws Exception {
        Path file = newHeap("serve-0444", CAPACITY);
        try (HeapChanger changer = HeapChanger.start(file)) {
            changer.command("allocate 100 500");
        }
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--r--r--"));
        String before = ScriptRuns.sha256(file);
        try (ServeProcess serve = ServeProcess.start("--interval", "100ms", file.toString())) {
            for (String path : List.of("", "metrics", "api/stats", "api/live", "api/map?width=64", "api/heaps")) {
                serve.get(path, 200);
            }
            TimeUnit.MILLISECONDS.sleep(300); // some samples too
        }
        assertEquals(before, ScriptRuns.sha256(file));
    }

    @Test
    void shouldServeThePageAndEveryAssetItselfWithoutInlineScript() throws Exception {
        Path file = newHeap("serve-page", CAPACITY);
        try (ServeProcess serve = ServeProcess.start(file.toString())) {
            String page = serve.get("", 200);
            assertTrue(page.contains("<script src=\"app.js\""), page);
            Map<String, String> bodies = new LinkedHashMap<>();
            for (String asset : List.of("", "app.js", "app.css", "favicon.svg")) {
                bodies.put(asset, serve.get(asset, 200));
            }
            bodies.forEach((asset, body) -> {
                assertFalse(body.contains("https://") || body.contains("http://") && !body.contains("http://www.w3.org/2000/svg"),
                        "/" + asset + " refers to another host");
                assertFalse(body.contains("<script>"), "/" + asset + " has an inline script");
            });
            assertTrue(serve.get("nothing-here", 404).contains("no such page: /nothing-here"));
        }
    }

    @Test
    void shouldRefuseAMissingHeapAtTheStart() {
        Path missing = Cli.newPath("serve-missing");
        Cli.Result result = Cli.run("serve", "--port", "0", missing.toString());
        assertEquals(ExitCodes.UNUSABLE, result.exitCode(), result::toString);
        assertEquals("shm-heap: " + missing + ": no such file\n", result.err());
    }

    @Test
    void shouldRefuseBadOptionsNamingThem() throws Exception {
        Path file = newHeap("serve-options", CAPACITY);
        for (String[] args : List.of(new String[] {"--port", "70000"}, new String[] {"--bind", "no-such-host.invalid"},
                new String[] {"--interval", "10ms"}, new String[] {"--history", "1"})) {
            List<String> command = new ArrayList<>(List.of("serve"));
            command.addAll(List.of(args));
            command.add(file.toString());
            Cli.Result result = Cli.run(command.toArray(new String[0]));
            assertEquals(ExitCodes.UNUSABLE, result.exitCode(), result::toString);
            assertTrue(result.err().startsWith("shm-heap: " + args[0] + " "), result::toString);
        }
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Cli.Result result = Cli.run("serve", "--port", String.valueOf(taken.getLocalPort()), file.toString());
            assertEquals(ExitCodes.UNUSABLE, result.exitCode(), result::toString);
            assertTrue(result.err().startsWith("shm-heap: cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": "), result::toString);
        }
    }
}
