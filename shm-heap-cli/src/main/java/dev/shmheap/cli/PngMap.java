package dev.shmheap.cli;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Dimension;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.Point;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;

/**
 * {@code shm-heap map --png}: the {@link HeapPicture} drawn with Java2D (headless) in the
 * colours of the terminal map, with a title and a legend below the grid.
 */
final class PngMap {
    static final int MARGIN = 12;
    static final int TITLE_HEIGHT = 40;
    static final int LEGEND_LINE = 18;
    static final int MIN_WIDTH = 520;

    private PngMap() {
    }

    /** Pixels per cell side: about 1280 pixels of grid, 2 to 12 per cell. */
    static int cellPixels(int width) {
        return Math.max(2, Math.min(12, 1280 / width));
    }

    static int legendLines(HeapPicture picture) {
        return picture.bytes[HeapPicture.UNKNOWN] == 0 ? HeapPicture.STATES - 1 : HeapPicture.STATES;
    }

    static Dimension size(HeapPicture picture) {
        int cell = cellPixels(picture.width);
        int width = Math.max(MIN_WIDTH, 2 * MARGIN + picture.width * cell);
        int height = MARGIN + TITLE_HEIGHT + picture.rows() * cell + MARGIN + legendLines(picture) * LEGEND_LINE + MARGIN;
        return new Dimension(width, height);
    }

    /** Top-left pixel of a cell. */
    static Point cellOrigin(HeapPicture picture, int cell) {
        int px = cellPixels(picture.width);
        return new Point(MARGIN + (cell % picture.width) * px, MARGIN + TITLE_HEIGHT + (cell / picture.width) * px);
    }

    /** The RGB of the xterm-256 background colour that the terminal map uses for a state. */
    static Color color(int state) {
        int index = TextMap.BACKGROUND[state];
        if (index >= 232) {
            int grey = 8 + 10 * (index - 232);
            return new Color(grey, grey, grey);
        }
        int[] levels = {0, 95, 135, 175, 215, 255};
        int i = index - 16;
        return new Color(levels[i / 36], levels[(i / 6) % 6], levels[i % 6]);
    }

    static void write(HeapPicture picture, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Dimension size = size(picture);
        BufferedImage image = new BufferedImage(size.width, size.height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, size.width, size.height);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
            g.drawString(picture.file, MARGIN, MARGIN + 13);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            g.drawString(Sizes.human(picture.capacity) + " of data at file offset " + picture.dataOffset + "; one cell = "
                    + Sizes.human(picture.cellBytes()) + ", " + picture.width + " cells per row", MARGIN, MARGIN + 31);

            int px = cellPixels(picture.width);
            for (int cell = 0; cell < picture.cells; cell++) {
                Point p = cellOrigin(picture, cell);
                g.setColor(color(picture.state[cell]));
                g.fillRect(p.x, p.y, px, px);
            }

            int y = MARGIN + TITLE_HEIGHT + picture.rows() * px + MARGIN;
            for (int s = 0; s < HeapPicture.STATES; s++) {
                if (s == HeapPicture.UNKNOWN && picture.bytes[s] == 0) {
                    continue;
                }
                g.setColor(color(s));
                g.fillRect(MARGIN, y + 2, 12, 12);
                g.setColor(Color.DARK_GRAY);
                g.drawRect(MARGIN, y + 2, 12, 12);
                g.setColor(Color.BLACK);
                g.drawString(HeapPicture.stateName(s), MARGIN + 20, y + 13);
                g.drawString(Sizes.human(picture.bytes[s]), MARGIN + 130, y + 13);
                y += LEGEND_LINE;
            }
            g.drawString("a cell is free only if all its pages are;", MARGIN + 220, y - 2 * LEGEND_LINE + 13);
            g.drawString("else it shows what holds most of them", MARGIN + 220, y - LEGEND_LINE + 13);
        } finally {
            g.dispose();
        }
        try (java.io.OutputStream out = new java.io.BufferedOutputStream(java.nio.file.Files.newOutputStream(png))) {
            if (!ImageIO.write(image, "png", out)) {
                throw new IOException("no PNG writer in this Java runtime");
            }
        }
    }
}
