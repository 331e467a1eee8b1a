package dev.shmheap.bench.drivers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * What the drivers share: where heap files go, a registry that deletes every file a driver
 * created (also from a shutdown hook, so an interrupted run leaves nothing in /dev/shm), the
 * classpath for child JVMs, and medians.
 */
final class DriverSupport {
    private static final Set<Path> CREATED = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(DriverSupport::deleteAllCreated, "shmheap-driver-cleanup"));
    }

    private DriverSupport() {
    }

    /** /dev/shm when writable, else java.io.tmpdir. */
    static Path heapDirectory() {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    /** A fresh heap path of this process, registered for deletion; the file does not exist yet. */
    static Path newHeapPath(String tag) throws IOException {
        Path path = heapDirectory().resolve("shmheap-drv-" + tag + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".heap");
        CREATED.add(path);
        Files.deleteIfExists(path);
        return path;
    }

    /** A temporary directory, registered for recursive deletion. */
    static Path newTempDirectory(String tag) throws IOException {
        Path dir = Files.createTempDirectory("shmheap-drv-" + tag + "-");
        CREATED.add(dir);
        return dir;
    }

    /** Deletes a file or directory this process created (and forgets it). */
    static void delete(Path path) {
        if (path == null) {
            return;
        }
        try {
            if (Files.isDirectory(path)) {
                try (Stream<Path> walk = Files.walk(path)) {
                    for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            } else {
                Files.deleteIfExists(path);
            }
            CREATED.remove(path);
        } catch (IOException e) {
            System.err.println("could not delete " + path + ": " + e);
        }
    }

    /** Files and directories created and not yet deleted (for tests). */
    static Set<Path> pendingDeletion() {
        return Set.copyOf(CREATED);
    }

    /** Files in the heap directory whose names say this process's drivers made them. */
    static List<Path> leftoverHeapFiles() throws IOException {
        String marker = "-" + ProcessHandle.current().pid() + "-";
        try (Stream<Path> list = Files.list(heapDirectory())) {
            return list.filter(p -> p.getFileName().toString().contains("shmheap-drv-") && p.getFileName().toString().contains(marker)).toList();
        }
    }

    static void deleteAllCreated() {
        for (Path p : new ArrayList<>(CREATED)) {
            delete(p);
        }
    }

    /**
     * The classpath to give child JVMs: surefire publishes the real test classpath in
     * {@code surefire.test.class.path} (its own java.class.path may be a manifest-only jar).
     */
    static String classPath() {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) {
            cp = System.getProperty("java.class.path");
        }
        return cp;
    }

    /**
     * The command line of a small child JVM running {@code mainClass} with {@code args}: the
     * flags shm-heap needs, 64 MiB of heap, the serial collector, no perf data; C2 stays on (the
     * hot loop is what is measured).
     */
    static List<String> childCommand(Class<?> mainClass, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(dev.shmheap.JvmFlags.required());
        command.add("-Xmx64m");
        command.add("-XX:+UseSerialGC");
        command.add("-XX:-UsePerfData");
        command.add("-cp");
        command.add(classPath());
        command.add(mainClass.getName());
        command.addAll(Arrays.asList(args));
        return command;
    }

    static double median(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    static double median(List<Double> values) {
        return median(values.stream().mapToDouble(Double::doubleValue).toArray());
    }

    static double min(double[] values) {
        return Arrays.stream(values).min().orElse(Double.NaN);
    }

    static double max(double[] values) {
        return Arrays.stream(values).max().orElse(Double.NaN);
    }

    /** Spread as a share of the median: (max - min) / median. */
    static double spread(double[] values) {
        double m = median(values);
        return m == 0 ? 0 : (max(values) - min(values)) / m;
    }

    /** A driver's measurement, from its configuration to its result. */
    interface Measurement<C, R> {
        R run(C config) throws Exception;
    }

    /**
     * A driver's main: the quick or full configuration by {@code --quick}, the measurement,
     * its rows on stdout; on any failure the stack trace, every file created deleted, exit 1.
     */
    static <C, R> void runMain(String[] args, Supplier<C> quick, Supplier<C> full, Measurement<C, R> measurement,
                               BiConsumer<C, R> printRows) {
        C config = hasFlag(args, "--quick") ? quick.get() : full.get();
        try {
            printRows.accept(config, measurement.run(config));
        } catch (Exception | AssertionError e) {
            e.printStackTrace();
            deleteAllCreated();
            System.exit(1);
        }
    }

    static boolean hasFlag(String[] args, String flag) {
        return Arrays.asList(args).contains(flag);
    }

    static String bytes(long n) {
        if (n >= 1L << 30 && n % (1L << 30) == 0) {
            return (n >> 30) + " GiB";
        }
        if (n >= 1L << 20 && n % (1L << 20) == 0) {
            return (n >> 20) + " MiB";
        }
        if (n >= 1L << 10 && n % (1L << 10) == 0) {
            return (n >> 10) + " KiB";
        }
        return n + " B";
    }

    /** e.g. "260.8 MiB". */
    static String human(long n) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = 0;
        while (Math.abs(v) >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? n + " B" : String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }

    static String percent(double share) {
        return String.format(java.util.Locale.ROOT, share < 0.001 ? "%.4f%%" : share < 0.1 ? "%.2f%%" : "%.1f%%", share * 100);
    }

    static void log(String message) {
        System.err.println(message);
    }
}
