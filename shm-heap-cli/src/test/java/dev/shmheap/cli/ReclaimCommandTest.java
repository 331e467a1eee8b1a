package dev.shmheap.cli;

import dev.shmheap.HeapObserver;
import dev.shmheap.CreateOption;
import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReclaimCommandTest {
    private Path file;
    private long baseline;

    @BeforeEach
    void createHeap() throws Exception {
        file = Cli.newPath("reclaim");
        try (ShmHeap heap = ShmHeap.create(file, 1 << 20)) {
            heap.allocate(64);
        }
        baseline = usedBytes();
    }

    @AfterEach
    void deleteHeap() throws Exception {
        Files.deleteIfExists(file);
    }

    private long usedBytes() throws Exception {
        try (HeapObserver heap = HeapObserver.open(file)) {
            return heap.stats().usedBytes();
        }
    }

    @Test
    void shouldFreeWhatADeadProcessHeldButNotWhatItShared() throws Exception {
        long pid = DeadHolder.leave(file, 3, 8192, 1);
        assertEquals(baseline + 3 * 8192, usedBytes());

        Cli.Result result = Cli.run("reclaim", file.toString());
        assertEquals(0, result.exitCode(), result::toString);
        assertEquals("", result.err());
        assertTrue(result.out().startsWith(file + ": reclaimed 2 blocks, 16384 bytes (16 KiB) held by dead processes\n"), result::toString);
        assertTrue(result.out().contains("\n  dead processes removed from the process table: 1\n  the heap was created without "
                + "--reclaim-dead: only 'shm-heap reclaim' frees dead processes' blocks\n"), result::toString);
        assertTrue(result.out().matches("(?s).*\\ndead processes that held blocks:\\n +slot +pid +blocks +bytes *\\n +\\d+ +" + pid
                + " +2 +16384 +16 KiB\\n.*"), result::toString);
        assertTrue(result.out().endsWith("kept: nothing\n"), result::toString);
        assertEquals(baseline + 8192, usedBytes(), "the shared block stays allocated");
        assertEquals(0, Cli.run("verify", file.toString()).exitCode());

        Cli.Result again = Cli.run("reclaim", file.toString());
        assertEquals(0, again.exitCode(), again::toString);
        assertTrue(again.out().startsWith(file + ": reclaimed 0 blocks, 0 bytes (0 B)"), again::toString);
        assertFalse(again.out().contains("dead processes that held blocks"), again::toString);
    }

    @Test
    void shouldPrintJson() throws Exception {
        long pid = DeadHolder.leave(file, 1, 4096, 0);
        Cli.Result result = Cli.run("reclaim", file.toString(), "--json");
        assertEquals(0, result.exitCode(), result::toString);
        Map<String, Object> json = Json.object(Json.parse(result.out()));
        assertEquals(List.of("schema", "file", "reclaimsDead", "reclaimedBlocks", "reclaimedBytes", "reclaimedAtOpenBlocks", "reclaimedAtOpenBytes",
                "deadProcessesRemoved", "deadBefore", "kept"), List.copyOf(json.keySet()));
        assertEquals(Boolean.FALSE, json.get("reclaimsDead"));
        assertEquals(1L, Json.integer(json.get("reclaimedBlocks")));
        assertEquals(4096L, Json.integer(json.get("reclaimedBytes")));
        assertEquals(0L, Json.integer(json.get("reclaimedAtOpenBlocks")));
        List<Object> before = Json.array(json.get("deadBefore"));
        assertEquals(1, before.size());
        assertEquals(pid, Json.integer(Json.object(before.get(0)).get("pid")));
        assertEquals(List.of(), Json.array(json.get("kept")));
        assertEquals(baseline, usedBytes());
    }

    @Test
    void shouldSayWhatOpeningAReclaimDeadHeapFreed() throws Exception {
        Files.delete(file);
        try (ShmHeap heap = ShmHeap.create(file, 1 << 20, CreateOption.RECLAIM_DEAD)) {
            heap.allocate(64);
        }
        DeadHolder.leave(file, 2, 4096, 0);
        Cli.Result result = Cli.run("reclaim", file.toString());
        assertEquals(0, result.exitCode(), result::toString);
        assertTrue(result.out().startsWith(file + ": reclaimed 0 blocks, 0 bytes (0 B) held by dead processes\n"
                + "  and 2 blocks, 8192 bytes (8 KiB) freed when this command opened the heap (created with --reclaim-dead)\n"), result::toString);
        assertTrue(result.out().contains("\n  the heap was created with --reclaim-dead: it also frees dead processes' blocks itself "
                + "(at open, in recover, before a heap-full error)\n"), result::toString);
        Map<String, Object> json = Json.object(Json.parse(Cli.run("reclaim", file.toString(), "--json").out()));
        assertEquals(Boolean.TRUE, json.get("reclaimsDead"));
        assertEquals(baseline, usedBytes());
    }

    @Test
    void shouldNeedAHeap() throws Exception {
        Path missing = Cli.newPath("reclaim-missing");
        Cli.Result result = Cli.run("reclaim", missing.toString());
        assertEquals(2, result.exitCode(), result::toString);
        assertEquals(1, result.err().lines().count(), result::toString);
    }
}
