package dev.shmheap.ipc.demo;

import dev.shmheap.HeapStats;
import org.HdrHistogram.Histogram;

import java.util.Locale;

/** Formatting of sizes, rates and percentiles for the demo's output. */
final class Units {
    private Units() {
    }

    static String bytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.2f %s", value, units[unit]);
    }

    static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    static String perSecond(double n) {
        return String.format(Locale.ROOT, "%,.0f", n);
    }

    /** Nanoseconds as microseconds, or as milliseconds from 10 ms up. */
    static String micros(long nanos) {
        return nanos >= 10_000_000 ? String.format(Locale.ROOT, "%.1f ms", nanos / 1e6) : String.format(Locale.ROOT, "%.1f us", nanos / 1000.0);
    }

    static String percentiles(Histogram h) {
        return "p50 " + micros(h.getValueAtPercentile(50)) + ", p99 " + micros(h.getValueAtPercentile(99)) + ", p99.9 "
                + micros(h.getValueAtPercentile(99.9)) + ", max " + micros(h.getMaxValue()) + " (" + count(h.getTotalCount())
                + " samples)";
    }

    static String heap(HeapStats stats) {
        return "used " + count(stats.usedBytes()) + " B, available " + bytes(stats.availableBytes()) + " of " + bytes(stats.totalBytes());
    }
}
