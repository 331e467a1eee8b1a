package dev.shmheap.cli;

import dev.shmheap.HeapStats;
import dev.shmheap.ShmHeap;
import dev.shmheap.SizeClassStats;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StatsCommandTest {
    private Path file;

    @BeforeEach
    void createHeapWithAllocations() throws Exception {
        file = Cli.newPath("stats");
        try (ShmHeap heap = ShmHeap.create(file, 4 << 20)) {
            for (int i = 0; i < 100; i++) {
                heap.allocate(48);
            }
            long freed = heap.allocate(100);
            heap.allocate(3000);
            heap.allocate(64 << 10);
            heap.allocate(200 << 10);
            heap.free(freed);
        }
    }

    @AfterEach
    void deleteHeap() throws Exception {
        Files.deleteIfExists(file);
    }

    private HeapStats libraryStats() throws Exception {
        try (ShmHeap heap = ShmHeap.open(file)) {
            return heap.stats();
        }
    }

    @Test
    void shouldPrintJsonThatAgreesWithTheLibrary() throws Exception {
        HeapStats expected = libraryStats();
        Cli.Result result = Cli.run("stats", file.toString(), "--json");
        assertEquals(0, result.exitCode(), result::toString);
        assertEquals("", result.err());

        Map<String, Object> json = Json.object(Json.parse(result.out()));
        assertEquals(List.of("schema", "file", "fileLength", "takenMillis", "totalBytes", "usedBytes", "availableBytes", "fragmentation",
                "buddy", "sizeClasses", "attachedProcesses", "lockTakeovers", "reclaimedBlocks", "reclaimedBytes", "processQuota", "reclaimsDead",
                "holdings"), List.copyOf(json.keySet()));
        assertEquals(Boolean.FALSE, json.get("reclaimsDead"), "created without RECLAIM_DEAD");
        assertEquals(expected.lockTakeovers(), Json.integer(json.get("lockTakeovers")));
        assertEquals(expected.reclaimedBlocks(), Json.integer(json.get("reclaimedBlocks")));
        assertEquals(expected.reclaimedBytes(), Json.integer(json.get("reclaimedBytes")));
        assertEquals(0L, Json.integer(json.get("processQuota")));
        Map<String, Object> holdings = Json.object(json.get("holdings"));
        assertEquals(List.of(), Json.array(holdings.get("processes")), "close() shared what the creating process held");
        assertEquals(expected.holdings().sharedBytes(), Json.integer(holdings.get("sharedBytes")));
        assertEquals(expected.usedBytes(), Json.integer(holdings.get("sharedBytes")), "every used byte is shared");
        assertEquals(expected.holdings().sharedBlocks(), Json.integer(holdings.get("sharedBlocks")));
        assertEquals(0L, Json.integer(holdings.get("deadBytes")));
        assertEquals(1L, json.get("schema"));
        assertEquals(file.toString(), json.get("file"));
        assertEquals(Files.size(file), Json.integer(json.get("fileLength")));
        assertEquals(expected.totalBytes(), Json.integer(json.get("totalBytes")));
        assertEquals(expected.usedBytes(), Json.integer(json.get("usedBytes")));
        assertEquals(expected.availableBytes(), Json.integer(json.get("availableBytes")));
        assertEquals(expected.fragmentation(), (Double) json.get("fragmentation"), 1e-6);

        Map<String, Object> buddy = Json.object(json.get("buddy"));
        assertEquals(expected.buddyFreeBytes(), Json.integer(buddy.get("freeBytes")));
        assertEquals(expected.buddyUsedBytes(), Json.integer(buddy.get("usedBytes")));
        assertEquals(expected.cachedBytes(), Json.integer(buddy.get("cachedBytes")));
        assertEquals(expected.largestFreeBlock(), Json.integer(buddy.get("largestFreeBlock")));
        assertEquals(expected.buddyAllocations(), Json.integer(buddy.get("allocations")));
        assertEquals(expected.buddyFrees(), Json.integer(buddy.get("frees")));
        List<Object> orders = Json.array(buddy.get("freeBlocksPerOrder"));
        long[] free = expected.freeBlocksPerOrder();
        assertEquals(free.length, orders.size());
        for (int order = 0; order < free.length; order++) {
            Map<String, Object> o = Json.object(orders.get(order));
            assertEquals(order, Json.integer(o.get("order")));
            assertEquals(4096L << order, Json.integer(o.get("blockSize")));
            assertEquals(free[order], Json.integer(o.get("freeBlocks")));
        }

        List<Object> classes = Json.array(json.get("sizeClasses"));
        assertEquals(expected.sizeClasses().size(), classes.size());
        for (int i = 0; i < classes.size(); i++) {
            SizeClassStats want = expected.sizeClasses().get(i);
            Map<String, Object> c = Json.object(classes.get(i));
            assertEquals(want.blockSize(), Json.integer(c.get("blockSize")));
            assertEquals(want.sets(), Json.integer(c.get("sets")));
            assertEquals(want.totalBlocks(), Json.integer(c.get("totalBlocks")));
            assertEquals(want.usedBlocks(), Json.integer(c.get("usedBlocks")));
            assertEquals(want.totalBytes(), Json.integer(c.get("totalBytes")));
            assertEquals(want.usedBytes(), Json.integer(c.get("usedBytes")));
            assertEquals(want.allocations(), Json.integer(c.get("allocations")));
            assertEquals(want.frees(), Json.integer(c.get("frees")));
        }
        Map<String, Object> class64 = Json.object(classes.get(0));
        assertEquals(100L, Json.integer(class64.get("usedBlocks")), "the 100 blocks of 48 bytes");
        Map<String, Object> class128 = Json.object(classes.get(1));
        assertEquals(1L, Json.integer(class128.get("allocations")));
        assertEquals(1L, Json.integer(class128.get("frees")));

        List<Object> processes = Json.array(json.get("attachedProcesses"));
        assertEquals(List.of(), processes, "nobody is attached, and stats reads without attaching");
    }

    @Test
    void shouldListAttachedProcessesButNotItself() throws Exception {
        try (ShmHeap attached = ShmHeap.open(file)) {
            Cli.Result result = Cli.run("stats", file.toString(), "--json");
            List<Object> processes = Json.array(Json.object(Json.parse(result.out())).get("attachedProcesses"));
            assertEquals(1, processes.size(), "only the heap this test opened: " + processes);
            assertEquals(ProcessHandle.current().pid(), Json.integer(Json.object(processes.get(0)).get("pid")));
            assertEquals(Boolean.TRUE, Json.object(processes.get(0)).get("alive"));
        }
    }

    @Test
    void shouldLeaveTheFileUnchanged() throws Exception {
        String before = ScriptRuns.sha256(file);
        for (String format : List.of("table", "json", "prometheus")) {
            assertEquals(0, Cli.run("stats", file.toString(), "--format", format).exitCode());
        }
        assertEquals(0, Cli.run("verify", file.toString()).exitCode());
        assertEquals(0, Cli.run("map", file.toString()).exitCode());
        assertEquals(0, Cli.run("top", file.toString(), "-n", "2", "-i", "10ms").exitCode());
        assertEquals(before, ScriptRuns.sha256(file));
    }

    /**
     * Parses the exposition format back line by line: every family has HELP and TYPE before its
     * samples, every sample line is {@code name{labels} value}, and the values are the library's.
     */
    @Test
    void shouldPrintPrometheusTextThatParsesBackToTheLibrarysFigures() throws Exception {
        HeapStats expected = libraryStats();
        Cli.Result result = Cli.run("stats", file.toString(), "--format", "prometheus");
        assertEquals(0, result.exitCode(), result::toString);
        assertEquals("", result.err());
        java.util.regex.Pattern sampleLine = java.util.regex.Pattern.compile("([a-z_]+)\\{((?:[a-z_]+=\"(?:[^\"\\\\]|\\\\.)*\",?)+)\\} (-?[0-9]+)");
        java.util.regex.Pattern label = java.util.regex.Pattern.compile("([a-z_]+)=\"((?:[^\"\\\\]|\\\\.)*)\"");
        Map<String, String> types = new java.util.HashMap<>();
        Map<String, Long> samples = new java.util.LinkedHashMap<>();
        String help = null;
        for (String line : result.out().lines().toList()) {
            if (line.startsWith("# HELP ")) {
                help = line.split(" ")[2];
                continue;
            }
            if (line.startsWith("# TYPE ")) {
                String[] parts = line.split(" ");
                assertEquals(4, parts.length, line);
                assertEquals(help, parts[2], "HELP comes right before TYPE: " + line);
                assertTrue(parts[3].equals("gauge") || parts[3].equals("counter"), line);
                assertEquals(parts[3].equals("counter"), parts[2].endsWith("_total"), "counters, and only they, end in _total: " + line);
                assertTrue(types.put(parts[2], parts[3]) == null, "one TYPE per family: " + line);
                continue;
            }
            java.util.regex.Matcher m = sampleLine.matcher(line);
            assertTrue(m.matches(), "not a sample line: '" + line + "'");
            assertTrue(types.containsKey(m.group(1)), "sample before its TYPE: " + line);
            java.util.regex.Matcher l = label.matcher(m.group(2));
            StringBuilder key = new StringBuilder(m.group(1));
            boolean heapLabel = false;
            while (l.find()) {
                if (l.group(1).equals("heap")) {
                    assertEquals(file.toString(), l.group(2));
                    heapLabel = true;
                } else {
                    key.append(' ').append(l.group(1)).append('=').append(l.group(2));
                }
            }
            assertTrue(heapLabel, "every sample names its heap: " + line);
            assertTrue(samples.put(key.toString(), Long.parseLong(m.group(3))) == null, "duplicate sample: " + line);
        }
        assertEquals(expected.totalBytes(), samples.get("shmheap_capacity_bytes"));
        assertEquals(expected.usedBytes(), samples.get("shmheap_used_bytes"));
        assertEquals(expected.availableBytes(), samples.get("shmheap_available_bytes"));
        assertEquals(expected.largestFreeBlock(), samples.get("shmheap_largest_free_block_bytes"));
        assertEquals(expected.buddyAllocations(), samples.get("shmheap_buddy_allocations_total"));
        assertEquals(expected.buddyFrees(), samples.get("shmheap_buddy_frees_total"));
        for (SizeClassStats c : expected.sizeClasses()) {
            String k = " block_size=" + c.blockSize();
            assertEquals(c.usedBlocks(), samples.get("shmheap_class_used_blocks" + k));
            assertEquals(c.totalBlocks(), samples.get("shmheap_class_total_blocks" + k));
            assertEquals(c.allocations(), samples.get("shmheap_class_allocations_total" + k));
            assertEquals(c.frees(), samples.get("shmheap_class_frees_total" + k));
        }
        long[] free = expected.freeBlocksPerOrder();
        for (int order = 0; order < free.length; order++) {
            assertEquals(free[order], samples.get("shmheap_free_blocks order=" + order + " block_size=" + (4096L << order)));
        }
        assertEquals(0L, samples.get("shmheap_attached_processes"));
        assertEquals(0L, samples.get("shmheap_dead_processes"));
        assertEquals(expected.lockTakeovers(), samples.get("shmheap_lock_takeovers_total"));
        assertEquals(expected.reclaimedBlocks(), samples.get("shmheap_reclaimed_blocks_total"));
        assertEquals(expected.reclaimedBytes(), samples.get("shmheap_reclaimed_bytes_total"));
        assertEquals(expected.usedBytes(), samples.get("shmheap_shared_bytes"), "close() shared every block");
        assertEquals(expected.holdings().sharedBlocks(), samples.get("shmheap_shared_blocks"));
        assertEquals(0L, samples.get("shmheap_handed_off_bytes"));
        assertEquals(0L, samples.get("shmheap_handed_off_blocks"));
        assertEquals(0L, samples.get("shmheap_dead_held_bytes"));
        assertEquals(0L, samples.get("shmheap_process_quota_bytes"));
        assertEquals(0L, samples.get("shmheap_reclaims_dead"), "created without RECLAIM_DEAD");
        assertEquals(6 + 4 * 7 + free.length + 3 + 3 + 7, samples.size(), "no sample more or less: " + samples.keySet());
        assertEquals(100L, samples.get("shmheap_class_used_blocks block_size=64"), "the 100 blocks of 48 bytes");
    }

    @Test
    void shouldEscapeLabelValues() {
        assertEquals("a\\\\b\\\"c\\nd", PrometheusReport.escape("a\\b\"c\nd"));
    }

    @Test
    void shouldPrintAlignedTables() throws Exception {
        HeapStats expected = libraryStats();
        Cli.Result result = Cli.run("stats", file.toString());
        assertEquals(0, result.exitCode(), result::toString);
        assertEquals("", result.err());
        String out = result.out();
        assertTrue(out.startsWith("heap " + file + " (file of " + Files.size(file) + " bytes"), out);
        assertTrue(out.matches("(?s).*\\ncapacity +" + expected.totalBytes() + "  4 MiB\\n.*"), out);
        assertTrue(out.matches("(?s).*\\nused +" + expected.usedBytes() + "  .*"), out);
        assertTrue(out.matches("(?s).*\\nfragmentation +" + String.format(java.util.Locale.ROOT, "%.4f", expected.fragmentation()) + "  .*"), out);

        List<String> lines = out.lines().toList();
        int header = lines.indexOf("size classes") + 1;
        assertTrue(lines.get(header).matches(" +block +sets +used +total +used bytes +total bytes +use +allocations +frees"), lines.get(header));
        int width = lines.get(header).length();
        for (int i = 1; i <= 7; i++) {
            String row = lines.get(header + i);
            assertEquals(width, row.length(), "rows are as wide as the header: " + row);
            assertEquals(String.valueOf(64 << (i - 1)), row.trim().split(" +")[0]);
        }
        String row64 = lines.get(header + 1).trim();
        assertTrue(row64.matches("64 +2 +100 +128 +6400 +8192 +78\\.1% +100 +0"), row64);
        assertTrue(out.contains("free buddy blocks per order\n  order  block size  free blocks  free bytes\n"), out);
        assertTrue(out.contains("attached processes: 0 (0 alive)"), out);
        assertTrue(out.matches("(?s).*\\nreclaim dead +no  created without --reclaim-dead: blocks of dead processes are kept until "
                + "'shm-heap reclaim'\\n.*"), out);
    }

    @Test
    void shouldSayWhetherTheHeapReclaimsDeadProcessesBlocks() throws Exception {
        Files.delete(file);
        try (ShmHeap heap = ShmHeap.create(file, 1 << 20, dev.shmheap.CreateOption.RECLAIM_DEAD)) {
            heap.allocate(64);
        }
        String text = Cli.run("stats", file.toString()).out();
        assertTrue(text.matches("(?s).*\\nreclaim dead +yes  created with --reclaim-dead: blocks of dead processes are freed at open, "
                + "by recover and before a heap-full error\\n.*"), text);
        Map<String, Object> json = Json.object(Json.parse(Cli.run("stats", file.toString(), "--json").out()));
        assertEquals(Boolean.TRUE, json.get("reclaimsDead"));
        String prom = Cli.run("stats", file.toString(), "--format", "prometheus").out();
        assertTrue(prom.contains("\n# TYPE shmheap_reclaims_dead gauge\nshmheap_reclaims_dead{heap=\"" + file + "\"} 1\n"), prom);

        // a dead holder's blocks wait for the next process that opens the heap (stats only reads)
        DeadHolder.leave(file, 1, 4096, 0);
        text = Cli.run("stats", file.toString()).out();
        assertTrue(text.contains("; 'shm-heap reclaim' frees them, as will the next process that opens the heap (created with --reclaim-dead)\n"),
                text);
    }

    @Test
    void shouldShowWhatEachProcessHoldsDeadOrAlive() throws Exception {
        long deadPid = DeadHolder.leave(file, 2, 8192, 0);
        try (ShmHeap attached = ShmHeap.open(file)) {
            attached.allocate(100);
            attached.setProcessQuota(1 << 20);

            Map<String, Object> json = Json.object(Json.parse(Cli.run("stats", file.toString(), "--json").out()));
            assertEquals(1L << 20, Json.integer(json.get("processQuota")));
            Map<String, Object> holdings = Json.object(json.get("holdings"));
            Map<Long, Map<String, Object>> byPid = new java.util.HashMap<>();
            for (Object p : Json.array(holdings.get("processes"))) {
                byPid.put(Json.integer(Json.object(p).get("pid")), Json.object(p));
            }
            Map<String, Object> dead = byPid.get(deadPid);
            assertEquals(Boolean.FALSE, dead.get("alive"), byPid::toString);
            assertEquals(2L, Json.integer(dead.get("blocks")));
            assertEquals(16384L, Json.integer(dead.get("bytes")));
            Map<String, Object> self = byPid.get(ProcessHandle.current().pid());
            assertEquals(Boolean.TRUE, self.get("alive"), byPid::toString);
            assertEquals(1L, Json.integer(self.get("blocks")));
            assertEquals(128L, Json.integer(self.get("bytes")));
            assertEquals(16384L, Json.integer(holdings.get("deadBytes")));
            assertEquals(2L, Json.integer(holdings.get("deadBlocks")));

            String text = Cli.run("stats", file.toString()).out();
            assertTrue(text.matches("(?s).*\\nholders of live blocks\\n +slot +pid +alive +blocks +bytes *\\n.*"), text);
            assertTrue(text.matches("(?s).*\\n +\\d+ +" + deadPid + " +NO +2 +16384 +16 KiB\\n.*"), text);
            assertTrue(text.matches("(?s).*\\n +\\d+ +" + ProcessHandle.current().pid() + " +yes +1 +128 +128 B\\n.*"), text);
            assertTrue(text.matches("(?s).*\\n  shared +\\d+ blocks +\\d+ bytes  .*, given to the heap \\(share, bind, close\\): no process holds them\\n.*"),
                    text);
            assertTrue(text.contains("1 dead process(es) hold 2 blocks, 16384 bytes (16 KiB); 'shm-heap reclaim' frees them\n"), text);
            assertTrue(text.matches("(?s).*\\nprocess quota +1048576 +1 MiB at most per process\\n.*"), text);
            assertTrue(text.matches("(?s).*\\nlock takeovers +0 .*"), text);

            String prom = Cli.run("stats", file.toString(), "--format", "prometheus").out();
            String heap = "heap=\"" + file + "\"";
            assertTrue(prom.matches("(?s).*\\nshmheap_process_held_bytes\\{" + java.util.regex.Pattern.quote(heap)
                    + ",slot=\"\\d+\",pid=\"" + deadPid + "\",alive=\"false\"\\} 16384\\n.*"), prom);
            assertTrue(prom.matches("(?s).*\\nshmheap_process_held_blocks\\{" + java.util.regex.Pattern.quote(heap)
                    + ",slot=\"\\d+\",pid=\"" + ProcessHandle.current().pid() + "\",alive=\"true\"\\} 1\\n.*"), prom);
            assertTrue(prom.contains("\nshmheap_dead_held_bytes{" + heap + "} 16384\n"), prom);
            assertTrue(prom.contains("\nshmheap_process_quota_bytes{" + heap + "} 1048576\n"), prom);
        }
    }
}
