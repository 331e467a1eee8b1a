package dev.shmheap.bench.report;

import java.util.Locale;

/**
 * One line of the benchmark table that {@code scripts/bench.sh} prints: every driver and the
 * JMH summary print their figures as these rows on stdout, and the script gathers every line
 * that starts with {@code "| "} under one {@link #HEADER}.
 *
 * <p>{@code reference} is what the figure is compared with (a JVM allocator, Aeron IPC, a
 * cache-line bounce, the same benchmark at another capacity...), named in {@code referenceName};
 * {@code ratio} is ours/reference; {@code target} and {@code verdict} are empty where the issue
 * sets no target.
 */
public record ResultRow(String area, String benchCase, String ours, String referenceName,
                        String reference, String ratio, String target, String verdict) {

    public static final String HEADER = """
            | area | case | shm-heap | reference | reference value | ratio | target | met |
            |---|---|---|---|---|---|---|---|""";

    public String toMarkdown() {
        return String.join(" | ", "|" + (" " + area), benchCase, ours, referenceName, reference, ratio, target, verdict) + " |";
    }

    /** Prints the row on stdout, where bench.sh collects it. */
    public void print() {
        System.out.println(toMarkdown());
    }

    /** A number with a few significant digits and its unit, e.g. {@code fmt(52.23, "ns")} is "52.2 ns". */
    public static String fmt(double value, String unit) {
        String number;
        double abs = Math.abs(value);
        if (abs >= 100 || abs == 0) {
            number = String.format(Locale.ROOT, "%,.0f", value);
        } else if (abs >= 10) {
            number = String.format(Locale.ROOT, "%.1f", value);
        } else {
            number = String.format(Locale.ROOT, "%.2f", value);
        }
        return unit.isEmpty() ? number : number + " " + unit;
    }

    /** ours/reference as e.g. "0.83x" or "0.0031x" (two significant digits); "n/a" without a reference. */
    public static String ratio(double ours, double reference) {
        if (reference == 0 || Double.isNaN(reference) || Double.isNaN(ours)) {
            return "n/a";
        }
        double r = ours / reference;
        int decimals = r >= 10 ? 0 : r >= 1 || r <= 0 ? 2 : Math.min(8, 1 - (int) Math.floor(Math.log10(r)));
        return String.format(Locale.ROOT, "%." + decimals + "fx", r);
    }

    /** "yes" or "NO" (capitals, so a miss stands out in the table). */
    public static String met(boolean met) {
        return met ? "yes" : "NO";
    }
}
