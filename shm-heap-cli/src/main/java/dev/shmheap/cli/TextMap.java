package dev.shmheap.cli;

import java.io.PrintWriter;

/**
 * {@code shm-heap map} in a terminal: one character per cell, a distinct character per state,
 * and with ANSI colours a distinct background too. Each row starts with the data-relative
 * offset of its first cell.
 */
final class TextMap {
    /** The character of each state, indexed like {@link HeapPicture}'s states. */
    static final char[] CHARS = {'.', '#', 'a', 'b', 'c', 'd', 'e', 'f', 'g', '?'};
    /**
     * xterm-256 background colours: dark grey free, red buddy-used, slab classes 64..4096 blue,
     * cyan, green, lime, yellow, orange, violet, magenta unknown.
     */
    static final int[] BACKGROUND = {236, 160, 27, 45, 35, 148, 220, 208, 135, 201};
    static final int[] FOREGROUND = {245, 231, 231, 16, 16, 16, 16, 16, 231, 231};
    private static final String RESET = "\u001b[0m";

    private TextMap() {
    }

    static void print(HeapPicture picture, boolean ansi, PrintWriter out) {
        out.println(picture.file + ": " + Sizes.human(picture.capacity) + " of data at file offset " + picture.dataOffset + "; one cell = "
                + Sizes.human(picture.cellBytes()) + " (" + picture.pagesPerCell + (picture.pagesPerCell == 1 ? " page" : " pages") + "), "
                + picture.width + " cells per row");
        int labelWidth = 0;
        for (int row = 0; row < picture.rows(); row++) {
            labelWidth = Math.max(labelWidth, label(picture, row).length());
        }
        for (int row = 0; row < picture.rows(); row++) {
            StringBuilder line = new StringBuilder();
            String label = label(picture, row);
            line.append(" ".repeat(labelWidth - label.length())).append(label).append(' ');
            int previous = -1;
            for (int cell = row * picture.width; cell < Math.min(picture.cells, (row + 1) * picture.width); cell++) {
                int s = picture.state[cell];
                if (ansi && s != previous) {
                    line.append(colour(s));
                }
                line.append(CHARS[s]);
                previous = s;
            }
            if (ansi) {
                line.append(RESET);
            }
            out.println(line);
        }
        out.println("legend (sizes are exact totals):");
        Table legend = Table.withoutHeader(2).left(0);
        StringBuilder symbols = new StringBuilder();
        for (int s = 0; s < HeapPicture.STATES; s++) {
            if (s == HeapPicture.UNKNOWN && picture.bytes[s] == 0) {
                continue;
            }
            symbols.append((char) s);
            legend.row(HeapPicture.stateName(s), Sizes.human(picture.bytes[s]));
        }
        java.util.List<String> lines = legend.lines("");
        for (int i = 0; i < lines.size(); i++) {
            int s = symbols.charAt(i);
            out.println("  " + (ansi ? colour(s) + CHARS[s] + RESET : String.valueOf(CHARS[s])) + "  " + lines.get(i));
        }
        out.println("a cell is free only when all its pages are; otherwise it shows what holds most of them");
        out.flush();
    }

    private static String label(HeapPicture picture, int row) {
        return Sizes.human(row * picture.width * picture.cellBytes()).replace(" B", "");
    }

    private static String colour(int s) {
        return "\u001b[48;5;" + BACKGROUND[s] + "m\u001b[38;5;" + FOREGROUND[s] + "m";
    }
}
