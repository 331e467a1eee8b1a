package dev.shmheap.cli;

import dev.shmheap.HeapObserver;
import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.Dimension;
import java.awt.Point;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MapCommandTest {
    private Path file;
    private Path png;

    /** 1 MiB = 256 pages: a 64-byte block (a one-page set), 16 KiB from the buddy, a 1 KiB block (a 16-page set). */
    @BeforeEach
    void createHeap() throws Exception {
        file = Cli.newPath("map");
        png = file.resolveSibling(file.getFileName() + ".png");
        try (ShmHeap heap = ShmHeap.create(file, 1 << 20)) {
            heap.allocate(64);
            heap.allocate(16 << 10);
            heap.allocate(1000);
        }
    }

    @AfterEach
    void deleteFiles() throws Exception {
        Files.deleteIfExists(file);
        Files.deleteIfExists(png);
    }

    private static String cells(String out) {
        StringBuilder cells = new StringBuilder();
        List<String> lines = out.lines().toList();
        for (String line : lines.subList(1, lines.indexOf(lines.stream().filter(l -> l.startsWith("legend")).findFirst().orElseThrow()))) {
            cells.append(line.substring(line.lastIndexOf(' ') + 1));
        }
        return cells.toString();
    }

    private static long count(String cells, char c) {
        return cells.chars().filter(x -> x == c).count();
    }

    @Test
    void shouldDrawOnePlainCharacterPerPageWithALegend() {
        Cli.Result result = Cli.run("map", file.toString());
        assertEquals(0, result.exitCode(), result::toString);
        assertEquals("", result.err());
        String out = result.out();
        assertTrue(out.startsWith(file + ": 1 MiB of data at file offset "), out);
        assertTrue(out.contains("one cell = 4 KiB (1 page), 64 cells per row"), out);
        assertFalse(out.contains("\u001b"), "no ANSI escapes when stdout is not a terminal");

        String cells = cells(out);
        assertEquals(256, cells.length(), out);
        assertEquals(1, count(cells, 'a'), out);
        assertEquals(4, count(cells, '#'), out);
        assertEquals(16, count(cells, 'e'), out);
        assertEquals(256 - 1 - 4 - 16, count(cells, '.'), out);
        List<String> lines = out.lines().toList();
        assertTrue(lines.get(1).matches("\\s*0 [.#a-g]{64}"), lines.get(1));
        assertTrue(lines.get(2).matches("256 KiB [.#a-g]{64}"), lines.get(2));

        assertTrue(out.matches("(?s).*\\n  \\.  free +940 KiB\\n.*"), out);
        assertTrue(out.matches("(?s).*\\n  #  buddy used +16 KiB\\n.*"), out);
        assertTrue(out.matches("(?s).*\\n  a  slab 64 B +4 KiB\\n.*"), out);
        assertTrue(out.matches("(?s).*\\n  e  slab 1024 B +64 KiB\\n.*"), out);
        assertTrue(out.matches("(?s).*\\n  g  slab 4096 B +0 B\\na cell is free only when all its pages are; .*"), out);
        assertFalse(out.contains("unreadable"), "no unreadable pages in a sound heap");
    }

    @Test
    void shouldGroupPagesIntoCellsToFitTheRows() {
        Cli.Result result = Cli.run("map", file.toString(), "--width", "16", "--rows", "4");
        assertEquals(0, result.exitCode(), result::toString);
        assertTrue(result.out().contains("one cell = 16 KiB (4 pages), 16 cells per row"), result::toString);
        String cells = cells(result.out());
        assertEquals(64, cells.length(), result::toString);
        assertEquals(1, count(cells, '#'), "the 16 KiB block is one cell: " + result);
        assertEquals(4, count(cells, 'e'), "the 64 KiB set is four cells: " + result);
        assertEquals(1, count(cells, 'a'), "a one-page set makes its cell not free: " + result);
    }

    @Test
    void shouldColourCellsWithAnsiOnATerminal() {
        Cli.Result terminal = Cli.run(true, "map", file.toString());
        assertTrue(terminal.out().contains("\u001b[48;5;" + TextMap.BACKGROUND[HeapPicture.SLAB] + "m"), terminal::toString);
        assertTrue(terminal.out().contains("\u001b[0m"), terminal::toString);
        Cli.Result always = Cli.run("map", file.toString(), "--color", "always");
        assertEquals(terminal.out(), always.out());
        Cli.Result never = Cli.run(true, "map", file.toString(), "--color=never");
        assertFalse(never.out().contains("\u001b"), never::toString);
    }

    @Test
    void shouldRejectAWidthOutOfRange() {
        Cli.Result result = Cli.run("map", file.toString(), "--width", "2");
        assertEquals(2, result.exitCode(), result::toString);
        assertTrue(result.err().startsWith("shm-heap: --width 2 is outside 8..1024"), result::toString);
    }

    @Test
    void shouldWriteAPngWhoseCellsHaveTheStatesColours() throws Exception {
        Cli.Result result = Cli.run("map", file.toString(), "--png", png.toString(), "--width", "32");
        assertEquals(0, result.exitCode(), result::toString);
        assertEquals("", result.err());
        assertTrue(result.out().startsWith("wrote " + png + ": "), result::toString);

        HeapPicture picture;
        try (HeapObserver heap = HeapObserver.open(file)) {
            picture = HeapPicture.of(heap, 32, 32);
        }
        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image, "a PNG ImageIO can decode");
        Dimension size = PngMap.size(picture);
        assertEquals(size.width, image.getWidth());
        assertEquals(size.height, image.getHeight());
        assertEquals(256, picture.cells);
        assertEquals(8, picture.rows());

        int[] cellsPerState = new int[HeapPicture.STATES];
        for (int cell = 0; cell < picture.cells; cell++) {
            Point p = PngMap.cellOrigin(picture, cell);
            int rgb = image.getRGB(p.x + 1, p.y + 1) & 0xFFFFFF;
            assertEquals(PngMap.color(picture.state[cell]).getRGB() & 0xFFFFFF, rgb, "cell " + cell);
            cellsPerState[picture.state[cell]]++;
        }
        assertEquals(1, cellsPerState[HeapPicture.SLAB]);
        assertEquals(4, cellsPerState[HeapPicture.USED]);
        assertEquals(16, cellsPerState[HeapPicture.SLAB + 4]);
        assertEquals(235, cellsPerState[HeapPicture.FREE]);
    }

    @Test
    void shouldReportAnUnwritablePngPath() {
        Path nowhere = Path.of("/dev/shm/no-such-dir-" + ProcessHandle.current().pid(), "x.png");
        Cli.Result result = Cli.run("map", file.toString(), "--png", nowhere.toString());
        assertEquals(2, result.exitCode(), result::toString);
        assertEquals("shm-heap: cannot write " + nowhere + ": " + nowhere + ": no such file\n", result.err());
    }
}
