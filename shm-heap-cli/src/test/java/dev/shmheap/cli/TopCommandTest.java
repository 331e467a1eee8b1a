package dev.shmheap.cli;

import dev.shmheap.HeapObserver;
import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TopCommandTest {
    private Path file;

    @BeforeEach
    void createHeap() throws Exception {
        file = Cli.newPath("top");
        try (ShmHeap heap = ShmHeap.create(file, 1 << 20)) {
            heap.allocate(64);
        }
    }

    @AfterEach
    void deleteHeap() throws Exception {
        Files.deleteIfExists(file);
    }

    @Test
    void shouldRefreshTheGivenNumberOfTimes() {
        long start = System.nanoTime();
        Cli.Result result = Cli.run("top", file.toString(), "--iterations", "2", "--interval", "100ms");
        long elapsed = System.nanoTime() - start;
        assertEquals(0, result.exitCode(), result::toString);
        assertEquals("", result.err());
        String out = result.out();
        assertTrue(out.contains("every 100ms  refresh 1 of 2\n"), out);
        assertTrue(out.contains("every 100ms  refresh 2 of 2\n"), out);
        assertFalse(out.contains("refresh 3"), out);
        assertFalse(out.contains("\u001b"), "no screen control when stdout is not a terminal");
        assertTrue(elapsed >= 100_000_000L, "waits the interval between refreshes");

        List<String> rows = out.lines().filter(l -> l.trim().startsWith("64 ")).toList();
        assertEquals(2, rows.size(), out);
        String[] first = rows.get(0).trim().split(" +");
        String[] second = rows.get(1).trim().split(" +");
        assertEquals("-", first[6], "no rate without an earlier sample: " + rows.get(0));
        assertEquals("0.0", second[6], "nothing allocated between the refreshes: " + rows.get(1));
        assertEquals("1", second[8], "allocations since creation: " + rows.get(1));
    }

    @Test
    void shouldRedrawInPlaceOnATerminal() {
        Cli.Result result = Cli.run(true, "top", file.toString(), "-n", "2", "-i", "10ms");
        assertEquals(0, result.exitCode(), result::toString);
        String out = result.out();
        assertTrue(out.startsWith(TopCommand.HIDE_CURSOR + TopCommand.HOME + "shm-heap top  "), out);
        assertEquals(2, out.split(java.util.regex.Pattern.quote(TopCommand.HOME), -1).length - 1, "two redraws from home: " + out);
        assertTrue(out.contains(TopCommand.CLEAR_TO_END_OF_LINE + "\n"), out);
        assertTrue(out.endsWith(TopCommand.CLEAR_TO_END_OF_SCREEN + TopCommand.SHOW_CURSOR), out);
    }

    @Test
    void shouldComputeRatesFromCounterDeltas() throws Exception {
        try (ShmHeap heap = ShmHeap.open(file); HeapObserver observer = HeapObserver.open(file)) {
            HeapSnapshot before = HeapSnapshot.of(observer);
            long[] blocks = new long[10];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = heap.allocate(100);
            }
            for (int i = 0; i < 4; i++) {
                heap.free(blocks[i]);
            }
            heap.allocate(64 << 10);
            HeapSnapshot after = HeapSnapshot.of(observer);

            List<String> frame = TopCommand.frame(before, after, 2_000_000_000L, 2, 0, Duration.ofSeconds(2));
            assertTrue(frame.get(0).endsWith("every 2s  refresh 2"), frame.get(0));
            String[] row128 = frame.stream().filter(l -> l.trim().startsWith("128 ")).findFirst().orElseThrow().trim().split(" +");
            assertEquals("5.0", row128[6], "10 allocations in 2 s");
            assertEquals("2.0", row128[7], "4 frees in 2 s");
            String[] buddy = frame.stream().filter(l -> l.startsWith("buddy ")).findFirst().orElseThrow().trim().split(" +");
            assertEquals("1.0", buddy[6], "one slab set of class 128 and one 64 KiB block in 2 s");
        }
    }

    @Test
    void shouldRejectABadInterval() {
        Cli.Result result = Cli.run("top", file.toString(), "--interval", "soon");
        assertEquals(2, result.exitCode(), result::toString);
        assertTrue(result.err().startsWith("shm-heap: Invalid value for option '--interval': 'soon' is not a duration"), result::toString);
    }

    @Test
    void shouldShowTakeoversReclaimedAndDeadHeldBytes() throws Exception {
        DeadHolder.leave(file, 1, 16384, 0);
        Cli.Result result = Cli.run("top", file.toString(), "-n", "1");
        assertEquals(0, result.exitCode(), result::toString);
        assertTrue(result.out().contains("\nlock takeovers 0  reclaimed 0 blocks (0 B)  dead hold 16 KiB (1 processes)  shared 64 B  quota none\n"),
                result::toString);

        assertEquals(0, Cli.run("reclaim", file.toString()).exitCode());
        result = Cli.run("top", file.toString(), "-n", "1");
        assertTrue(result.out().contains("\nlock takeovers 0  reclaimed 1 blocks (16 KiB)  dead hold 0 B (0 processes)  shared 64 B  quota none\n"),
                result::toString);
    }

    @Test
    void shouldPrintOneFramePerIntervalWithoutScreenControlIntoAPipeEvenWithColorAlways() {
        Cli.Result result = Cli.run(false, "top", file.toString(), "-n", "3", "-i", "10ms", "--color", "always");
        assertEquals(0, result.exitCode(), result::toString);
        String out = result.out();
        assertFalse(out.contains("\u001b"), "no cursor movement or clearing when stdout is not a terminal: " + out);
        assertEquals(3, out.lines().filter(l -> l.startsWith("shm-heap top  ")).count(), out);
        for (int i = 1; i <= 3; i++) {
            assertTrue(out.contains("refresh " + i + " of 3\n"), out);
        }
    }
}
