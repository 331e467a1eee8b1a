package dev.shmheap.cli;

import dev.shmheap.ShmHeap;
import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.lock.ProcessTable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
            dataOffset = heap.fileLength() - heap.capacity();
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
        assertTrue(result.out().startsWith(file + ": OK\nchecked "), result::toString);
        assertTrue(result.out().contains(" blocks covering " + capacity + " bytes of data at offsets " + dataOffset + ".."), result::toString);
        assertTrue(result.out().contains(": " + (64 + 16384) + " bytes used, " + (capacity - 4096 - 16384) + " bytes free;"), result::toString);
        assertTrue(!result.out().contains("problem:"), result::toString);
    }

    @Test
    void shouldExit1AndPrintEveryProblemWithItsOffsetWhenACounterIsWrong() throws Exception {
        long stored = Cli.getLong(file, HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET);
        Cli.putLong(file, HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET, stored + 4096);

        Cli.Result result = Cli.run("verify", file.toString());
        assertEquals(1, result.exitCode(), result::toString);
        assertEquals("", result.err());
        assertTrue(result.out().startsWith(file + ": INCONSISTENT, 1 problem(s)\nchecked "), result::toString);
        assertTrue(result.out().contains("\nproblem: buddy free bytes is " + (stored + 4096) + " in the header, a recount gives " + stored
                + " [header offset " + HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET + "]\n"), result::toString);
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
    void shouldAddFileOffsetsToPagesAndHeaderFields() {
        assertEquals("page 3 (offset 1060864) of the slab set at page 2 (offset 1056768) is FREE",
                ProblemOffsets.annotate("page 3 of the slab set at page 2 is FREE", 1 << 20));
        assertEquals("free blocks at pages 4 and 5 (offsets 1064960 and 1069056) are buddies of order 0 but were not merged",
                ProblemOffsets.annotate("free blocks at pages 4 and 5 are buddies of order 0 but were not merged", 1 << 20));
        assertEquals("used blocks of class 128 stripe 0 is 3 in the header, a recount gives 2 [header offset "
                        + HeaderDescriptor.classOffset(1, 0, HeaderDescriptor.CLASS_USED_BLOCKS) + "]",
                ProblemOffsets.annotate("used blocks of class 128 stripe 0 is 3 in the header, a recount gives 2", 0));
        assertEquals("free-block count of order 2 is 1, the free list holds 0 [header offset " + HeaderDescriptor.freeCountOffset(2) + "]",
                ProblemOffsets.annotate("free-block count of order 2 is 1, the free list holds 0", 0));
        assertEquals("something else entirely", ProblemOffsets.annotate("something else entirely", 0));
    }
}
