package dev.shmheap.cli;

import dev.shmheap.ProcessIdentity;
import dev.shmheap.ShmHeap;
import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.lock.ProcessTable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VerifyCommandTest {
    /** A pid above Linux's pid_max (2^22), so no process ever has it. */
    static final long DEAD_TOKEN = (0x3FFF_FFFFL << 32) | 12345;

    private Path file;
    private long dataOffset;
    private long capacity;

    @BeforeEach
    void createHeap() throws Exception {
        file = Cli.newPath("verify");
        try (ShmHeap heap = ShmHeap.create(file, 1 << 20)) {
            heap.allocate(64);
            heap.allocate(10_000);
            dataOffset = heap.dataOffset();
            capacity = heap.capacity();
        }
    }

    @AfterEach
    void deleteHeap() throws Exception {
        Files.deleteIfExists(file);
    }

    @Test
    void shouldExit0AndSayWhatItCheckedOnAConsistentHeap() {
        Cli.Result result = Cli.run("verify", file.toString());
        assertEquals(0, result.exitCode(), result::toString);
        assertEquals("", result.err());
        assertTrue(result.out().startsWith(file + ": OK\n2 user blocks live, " + (64 + 16384) + " bytes used, "
                + (capacity - 4096 - 16384) + " bytes free\nchecked "), result::toString);
        assertTrue(result.out().contains(" page-map blocks (free buddy blocks, buddy blocks in use and slab sets) covering " + capacity
                + " bytes of data at offsets " + dataOffset + ".."), result::toString);
        assertTrue(!result.out().contains("problem:"), result::toString);
    }

    @Test
    void shouldExit1AndPrintEveryProblemWithItsOffsetWhenACounterIsWrong() throws Exception {
        long stored = Cli.getLong(file, HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET);
        Cli.putLong(file, HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET, stored + 4096);

        Cli.Result result = Cli.run("verify", file.toString());
        assertEquals(1, result.exitCode(), result::toString);
        assertEquals("", result.err());
        assertTrue(result.out().startsWith(file + ": INCONSISTENT, 1 problem(s)\n2 user blocks live, "), result::toString);
        assertTrue(result.out().contains("\nproblem: buddy free bytes is " + (stored + 4096) + " in the header, a recount gives " + stored
                + " [COUNTER at offset " + HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET + "]\n"), result::toString);
    }

    @Test
    void shouldPrintProblemsAsJsonRecords() throws Exception {
        long stored = Cli.getLong(file, HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET);
        Cli.putLong(file, HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET, stored + 4096);
        Cli.putLong(file, HeaderDescriptor.HEADER_LENGTH + 5L * ProcessTable.SLOT_LENGTH, DEAD_TOKEN);

        Cli.Result result = Cli.run("verify", file.toString(), "--json");
        assertEquals(1, result.exitCode(), result::toString);
        assertEquals("", result.err());
        Map<String, Object> json = Json.object(Json.parse(result.out()));
        assertEquals(List.of("schema", "file", "ok", "fileLength", "dataOffset", "capacity", "blocks", "userBlocks", "usedBytes", "freeBytes",
                "problems", "notes", "deadHoldings"), List.copyOf(json.keySet()));
        assertEquals(1L, Json.integer(json.get("schema")));
        assertEquals(file.toString(), json.get("file"));
        assertEquals(Boolean.FALSE, json.get("ok"));
        assertEquals(dataOffset, Json.integer(json.get("dataOffset")));
        assertEquals(capacity, Json.integer(json.get("capacity")));
        assertEquals(2L, Json.integer(json.get("userBlocks")), "one slab block and one buddy block: " + result);
        List<Object> problems = Json.array(json.get("problems"));
        assertEquals(1, problems.size(), result::toString);
        Map<String, Object> problem = Json.object(problems.get(0));
        assertEquals(List.of("kind", "offset", "page", "message"), List.copyOf(problem.keySet()));
        assertEquals("COUNTER", problem.get("kind"));
        assertEquals((long) HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET, Json.integer(problem.get("offset")));
        assertNull(problem.get("page"));
        assertTrue(((String) problem.get("message")).startsWith("buddy free bytes is " + (stored + 4096)), result::toString);
        List<Object> notes = Json.array(json.get("notes"));
        assertTrue(notes.stream().anyMatch(n -> ((String) n).startsWith("pid " + (DEAD_TOKEN >>> 32) + " is registered")), result::toString);
    }

    @Test
    void shouldPrintAPageProblemWithThePageAndItsFileOffset() throws Exception {
        HeapLayout layout = HeapLayout.forCapacity(capacity, false);
        long page;
        long word0 = 0;
        for (page = 0; page < layout.pageCount(); page++) {
            word0 = Cli.getLong(file, layout.entryOffset(page));
            if (PageMapEntry.kind(word0) == PageMapEntry.USED) {
                break;
            }
        }
        assertEquals(PageMapEntry.USED, PageMapEntry.kind(word0), "the 10000-byte block is a USED buddy block");
        Cli.putLong(file, layout.entryOffset(page), word0 | (7L << 32)); // a USED head with a list link

        Cli.Result result = Cli.run("verify", file.toString(), "--json");
        assertEquals(1, result.exitCode(), result::toString);
        Map<String, Object> problem = Json.object(Json.array(Json.object(Json.parse(result.out())).get("problems")).get(0));
        assertEquals("PAGE_MAP", problem.get("kind"), result::toString);
        assertEquals(page, Json.integer(problem.get("page")));
        assertEquals(dataOffset + page * 4096, Json.integer(problem.get("offset")));
    }

    @Test
    void shouldExit3WhenTheTimeoutPassesWhileALiveProcessHoldsALock() throws Exception {
        // this JVM is alive and never releases the lock it seems to hold
        Cli.putLong(file, HeaderDescriptor.BUDDY_LOCK_OFFSET, ProcessIdentity.current());
        Cli.Result result = Cli.run("verify", file.toString(), "--timeout", "200ms");
        assertEquals(3, result.exitCode(), result::toString);
        assertEquals("", result.out());
        assertEquals(1, result.err().lines().count(), result::toString);
        assertTrue(result.err().startsWith("shm-heap: " + file + ": no consistent look at the heap within "), result::toString);
        assertTrue(result.err().contains("the buddy lock is held by live pid " + ProcessHandle.current().pid()), result::toString);

        Cli.putLong(file, HeaderDescriptor.BUDDY_LOCK_OFFSET, 0);
        Cli.Result after = Cli.run("verify", file.toString(), "--timeout", "200ms");
        assertEquals(0, after.exitCode(), after::toString);
    }

    @Test
    void shouldRejectATimeoutThatIsNotADuration() {
        Cli.Result result = Cli.run("verify", file.toString(), "--timeout", "soon");
        assertEquals(2, result.exitCode(), result::toString);
        assertTrue(result.err().contains("'soon' is not a duration"), result::toString);
    }

    @Test
    void shouldPrintNotesWithoutFailing() throws Exception {
        Cli.putLong(file, HeaderDescriptor.HEADER_LENGTH + 5L * ProcessTable.SLOT_LENGTH, DEAD_TOKEN);
        Cli.Result result = Cli.run("verify", file.toString());
        assertEquals(0, result.exitCode(), result::toString);
        assertTrue(result.out().contains("\nnote: pid " + (DEAD_TOKEN >>> 32) + " is registered but no longer runs"), result::toString);
    }

    @Test
    void shouldExit2OnAFileThatIsNotAHeap() throws Exception {
        Files.writeString(file.resolveSibling(file.getFileName() + ".txt"), "hello");
        Path text = file.resolveSibling(file.getFileName() + ".txt");
        try {
            Cli.Result result = Cli.run("verify", text.toString());
            assertEquals(2, result.exitCode(), result::toString);
            assertEquals("", result.out());
            assertEquals(1, result.err().lines().count(), result::toString);
        } finally {
            Files.deleteIfExists(text);
        }
    }

    @Test
    void shouldReportWhatADeadProcessHoldsAsNotesAndInJson() throws Exception {
        long pid = DeadHolder.leave(file, 3, 4096, 0);

        Cli.Result text = Cli.run("verify", file.toString());
        assertEquals(0, text.exitCode(), "dead holdings are not problems: " + text);
        assertTrue(text.out().contains("note: pid " + pid + ", which no longer runs, holds 3 blocks, 12288 bytes ('shm-heap reclaim' frees them)\n"),
                text::toString);
        assertFalse(text.out().contains("()"), "command-line output names commands, not library methods: " + text);

        Cli.Result result = Cli.run("verify", file.toString(), "--json");
        assertEquals(0, result.exitCode(), result::toString);
        List<Object> dead = Json.array(Json.object(Json.parse(result.out())).get("deadHoldings"));
        assertEquals(1, dead.size(), result::toString);
        Map<String, Object> holder = Json.object(dead.get(0));
        assertEquals(pid, Json.integer(holder.get("pid")));
        assertEquals(Boolean.FALSE, holder.get("alive"));
        assertEquals(3L, Json.integer(holder.get("blocks")));
        assertEquals(12288L, Json.integer(holder.get("bytes")));
    }

    @Test
    void shouldCountEveryLiveUserBlockNotThePageMapBlocks() throws Exception {
        Path many = Cli.newPath("verify-count");
        try {
            try (ShmHeap heap = ShmHeap.create(many, 1 << 20)) {
                for (int i = 0; i < 50; i++) {
                    heap.allocate(48);
                }
                for (int i = 0; i < 6; i++) {
                    heap.allocate(200);
                }
                heap.free(heap.allocate(64));
                heap.allocate(20_000);
            }
            Cli.Result result = Cli.run("verify", many.toString(), "--json");
            assertEquals(0, result.exitCode(), result::toString);
            Map<String, Object> json = Json.object(Json.parse(result.out()));
            assertEquals(57L, Json.integer(json.get("userBlocks")), "50 + 6 slab blocks and one buddy block: " + result);
            assertTrue(Json.integer(json.get("blocks")) < 57, "far fewer page-map blocks (two slab sets, one buddy block, free blocks): " + result);
            assertTrue(Cli.run("verify", many.toString()).out().contains("\n57 user blocks live, "), result::toString);
        } finally {
            Files.deleteIfExists(many);
        }
    }
}
