package dev.shmheap.cli;

import dev.shmheap.HeapStats;
import dev.shmheap.Holdings;
import dev.shmheap.HeapObserver;
import dev.shmheap.SizeClassStats;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.TypeConversionException;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

@Command(name = "top",
        description = {"Refresh the statistics in place, like top.",
                "Shows use per size class with allocations and frees per second, from the differences of the "
                        + "shared counters between two refreshes; lock takeovers and reclaimed blocks since creation and "
                        + "the bytes dead processes still hold. Ctrl-C stops it."})
final class TopCommand extends HeapCommand {
    static final String HOME = "\u001b[H";
    static final String CLEAR_TO_END_OF_LINE = "\u001b[K";
    static final String CLEAR_TO_END_OF_SCREEN = "\u001b[J";
    static final String HIDE_CURSOR = "\u001b[?25l";
    static final String SHOW_CURSOR = "\u001b[?25h";
    static final Duration MIN_INTERVAL = Duration.ofMillis(10);

    @Option(names = {"-i", "--interval"}, paramLabel = "DURATION", defaultValue = "1s", converter = DurationConverter.class,
            description = "Time between refreshes: 500ms, 1s, 2.5s, 1m; a plain number means seconds. Default: ${DEFAULT-VALUE}.")
    Duration interval;

    @Option(names = {"-n", "--iterations"}, paramLabel = "N", defaultValue = "0",
            description = "Stop after N refreshes; 0 runs until interrupted. Default: ${DEFAULT-VALUE}.")
    int iterations;

    @Mixin
    ColorOption color;

    @Override
    public Integer call() throws Exception {
        if (interval.compareTo(MIN_INTERVAL) < 0) {
            throw new ParameterException(spec.commandLine(), "--interval " + interval.toMillis() + "ms is shorter than 10ms");
        }
        if (iterations < 0) {
            throw new ParameterException(spec.commandLine(), "--iterations " + iterations + " is negative");
        }
        // Redraw in place only on a terminal: --color=always colours a pipe but never moves its cursor.
        boolean ansi = terminal() && color.ansi(true);
        PrintWriter out = out();
        // Ctrl-C: stop the loop and let it close the heap before the JVM halts; closing from
        // the hook itself could unmap memory the loop still reads.
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch closed = new CountDownLatch(1);
        Thread loop = Thread.currentThread();
        Thread hook = new Thread(() -> {
            stop.set(true);
            loop.interrupt();
            try {
                closed.await(2, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "shm-heap top shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try (HeapObserver heap = openToRead()) {
            if (ansi) {
                out.print(HIDE_CURSOR);
            }
            try {
                run(heap, ansi, out, stop);
            } finally {
                if (ansi) {
                    out.print(SHOW_CURSOR);
                }
                out.flush();
            }
        } finally {
            closed.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The hook is running: it waits for `closed`, counted down above.
            }
        }
        return ExitCodes.OK;
    }

    /** One frame per interval, at fixed times from the first (a slow frame shifts the later ones, never doubles them). */
    private void run(HeapObserver heap, boolean ansi, PrintWriter out, AtomicBoolean stop) {
        HeapSnapshot previous = null;
        long previousNanos = 0;
        long due = System.nanoTime();
        for (int i = 1; iterations == 0 || i <= iterations; i++) {
            if (i > 1) {
                due = Math.max(due + interval.toNanos(), System.nanoTime());
                try {
                    TimeUnit.NANOSECONDS.sleep(due - System.nanoTime());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            if (stop.get()) {
                return;
            }
            HeapSnapshot current = HeapSnapshot.of(heap);
            long now = System.nanoTime();
            printFrame(frame(previous, current, now - previousNanos, i, iterations, interval), i, ansi, out);
            previous = current;
            previousNanos = now;
        }
    }

    /** On a terminal, the frame over the last one; elsewhere after it, a blank line between, with no control codes. */
    private static void printFrame(List<String> lines, int iteration, boolean ansi, PrintWriter out) {
        if (ansi) {
            out.print(HOME);
            for (String line : lines) {
                out.print(line + CLEAR_TO_END_OF_LINE + "\n");
            }
            out.print(CLEAR_TO_END_OF_SCREEN);
        } else {
            if (iteration > 1) {
                out.println();
            }
            lines.forEach(out::println);
        }
        out.flush();
    }

    /**
     * One screen. Rates are the counter differences between {@code previous} and
     * {@code current} divided by {@code elapsedNanos}; on the first screen (no previous) they
     * are "-".
     */
    static List<String> frame(HeapSnapshot previous, HeapSnapshot current, long elapsedNanos, int iteration, int iterations,
                              Duration interval) {
        HeapStats s = current.stats();
        List<String> lines = new java.util.ArrayList<>();
        lines.add("shm-heap top  " + current.file() + "  " + Instant.ofEpochMilli(current.takenMillis()).truncatedTo(ChronoUnit.SECONDS)
                + "  every " + describe(interval) + "  refresh " + iteration + (iterations > 0 ? " of " + iterations : ""));
        lines.add("capacity " + Sizes.human(s.totalBytes()) + "  used " + Sizes.human(s.usedBytes()) + " (" + Sizes.percent(s.usedBytes(), s.totalBytes())
                + ")  available " + Sizes.human(s.availableBytes()));
        lines.add("largest free " + Sizes.human(s.largestFreeBlock()) + "  fragmentation " + String.format(Locale.ROOT, "%.4f", s.fragmentation())
                + "  processes " + current.processes().size() + " (" + current.aliveProcesses() + " alive)");
        lines.add(recoveryLine(s));
        lines.add("");
        Table table = new Table("block", "sets", "used", "total", "used bytes", "use", "allocs/s", "frees/s", "allocations", "frees");
        HeapStats before = previous == null ? null : previous.stats();
        for (SizeClassStats c : s.sizeClasses()) {
            SizeClassStats b = before == null ? null : before.sizeClass(c.blockSize());
            table.row(c.blockSize(), c.sets(), c.usedBlocks(), c.totalBlocks(), c.usedBytes(), Sizes.percent(c.usedBlocks(), c.totalBlocks()),
                    rate(b == null ? -1 : c.allocations() - b.allocations(), elapsedNanos),
                    rate(b == null ? -1 : c.frees() - b.frees(), elapsedNanos), c.allocations(), c.frees());
        }
        table.row("buddy", "-", "-", "-", s.buddyUsedBytes(), "-",
                rate(before == null ? -1 : s.buddyAllocations() - before.buddyAllocations(), elapsedNanos),
                rate(before == null ? -1 : s.buddyFrees() - before.buddyFrees(), elapsedNanos), s.buddyAllocations(), s.buddyFrees());
        lines.addAll(table.lines(""));
        lines.add("");
        lines.add("buddy rows count whole buddy blocks: user blocks above 4 KiB and the slab sets the classes take and return");
        return lines;
    }

    /** Lock takeovers and reclamations since creation, and what dead processes still hold. */
    static String recoveryLine(HeapStats s) {
        Holdings h = s.holdings();
        return "lock takeovers " + s.lockTakeovers() + "  reclaimed " + s.reclaimedBlocks() + " blocks (" + Sizes.human(s.reclaimedBytes())
                + ")  dead hold " + Sizes.human(h.deadBytes()) + " (" + h.dead().size() + " processes)  shared " + Sizes.human(h.sharedBytes())
                + "  quota " + (s.processQuota() == 0 ? "none" : Sizes.human(s.processQuota()));
    }

    /** Events per second, or "-" when there is no earlier sample ({@code delta < 0}). */
    static String rate(long delta, long elapsedNanos) {
        if (delta < 0 || elapsedNanos <= 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.1f", delta * 1e9 / elapsedNanos);
    }

    private static String describe(Duration interval) {
        long millis = interval.toMillis();
        return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
    }

    static final class DurationConverter implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return Sizes.parseDuration(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
