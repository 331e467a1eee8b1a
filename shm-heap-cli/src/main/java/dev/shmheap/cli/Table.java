package dev.shmheap.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A text table whose columns are padded to their widest cell: numbers right-aligned, columns
 * named in {@link #left(int...)} left-aligned, two spaces between columns.
 */
final class Table {
    private final String[] headers;
    private final boolean[] leftAligned;
    private final List<String[]> rows = new ArrayList<>();

    /** A table with a header row. */
    Table(String... headers) {
        this(headers.clone(), headers.length);
    }

    /** A headerless table of {@code columns} columns. */
    static Table withoutHeader(int columns) {
        return new Table(new String[0], columns);
    }

    private Table(String[] headers, int columns) {
        if (columns < 1) {
            throw new IllegalArgumentException("a table needs a column");
        }
        this.headers = headers;
        this.leftAligned = new boolean[columns];
    }

    Table left(int... columns) {
        for (int c : columns) {
            leftAligned[c] = true;
        }
        return this;
    }

    Table row(Object... cells) {
        if (cells.length != leftAligned.length) {
            throw new IllegalArgumentException("row of " + cells.length + " cells in a table of " + leftAligned.length + " columns");
        }
        rows.add(Arrays.stream(cells).map(String::valueOf).toArray(String[]::new));
        return this;
    }

    /** The lines of the table, each starting with {@code indent}, without trailing blanks. */
    List<String> lines(String indent) {
        int[] width = new int[leftAligned.length];
        List<String[]> all = new ArrayList<>();
        if (headers.length > 0) {
            all.add(headers);
        }
        all.addAll(rows);
        for (String[] row : all) {
            for (int c = 0; c < row.length; c++) {
                width[c] = Math.max(width[c], row[c].length());
            }
        }
        List<String> lines = new ArrayList<>();
        for (String[] row : all) {
            StringBuilder line = new StringBuilder(indent);
            for (int c = 0; c < row.length; c++) {
                if (c > 0) {
                    line.append("  ");
                }
                String pad = " ".repeat(width[c] - row[c].length());
                line.append(leftAligned[c] ? row[c] + pad : pad + row[c]);
            }
            lines.add(line.toString().stripTrailing());
        }
        return lines;
    }

    void print(java.io.PrintWriter out, String indent) {
        for (String line : lines(indent)) {
            out.println(line);
        }
    }
}
