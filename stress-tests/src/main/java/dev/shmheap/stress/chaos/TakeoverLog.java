package dev.shmheap.stress.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Notices the lock takeovers of this JVM. shm-heap's public API does not say when a call took
 * a lock over from a dead owner, but its spinlock logs it (through {@link System.Logger}, which
 * without another provider is java.util.logging) with the dead owner's pid, at the moment of
 * the takeover. This handler keeps those moments until the caller's operation completes, so
 * that the chaos run can measure kill-to-recovered-operation times.
 *
 * <p>It relies on the wording of two log messages of {@code dev.shmheap.internal.lock.SpinLock}:
 * {@code "took over LOCK from dead pid N (...)"} and {@code "repairing LOCK, marked for repair"}.
 * If they change, takeovers are no longer seen (recoveries=0) but nothing else breaks.
 */
final class TakeoverLog {
    static final String LOGGER_NAME = "dev.shmheap.internal.lock.SpinLock";
    private static final Pattern TOOK_OVER = Pattern.compile("took over (.*) from dead pid (\\d+)");
    private static final Pattern REPAIRING = Pattern.compile("repairing (.*), marked for repair");

    /** One takeover: the victim's pid (0 for a lock marked for repair) and when it happened. */
    record Event(long victimPid, long atNanos, String lock) {
        /** The line a worker prints once the operation that took over has completed. */
        String line(long doneNanos) {
            return "takeover victim=" + victimPid + " at=" + atNanos + " done=" + doneNanos + " lock=" + lock;
        }
    }

    /** A takeover line parsed back, as the coordinator reads it from a worker's output. */
    record Completed(long victimPid, long atNanos, long doneNanos, String lock) {
        static Completed parse(String line) {
            if (!line.startsWith("takeover ")) {
                return null;
            }
            try {
                String[] parts = line.split(" ", 5);
                return new Completed(value(parts[1], "victim"), value(parts[2], "at"), value(parts[3], "done"),
                        parts.length > 4 && parts[4].startsWith("lock=") ? parts[4].substring(5) : "?");
            } catch (RuntimeException e) {
                return null; // a line cut short by SIGKILL
            }
        }

        private static long value(String part, String key) {
            if (!part.startsWith(key + "=")) {
                throw new IllegalArgumentException(part);
            }
            return Long.parseLong(part.substring(key.length() + 1));
        }
    }

    private final Logger logger;
    private final ConcurrentLinkedQueue<Event> pending = new ConcurrentLinkedQueue<>();

    private TakeoverLog(Logger logger) {
        this.logger = logger;
    }

    /**
     * Starts listening, in place of the root logger's console handler. With {@code echo} each
     * message is also printed on stderr as one plain line, so that a worker's log keeps the
     * spinlock's warnings (and "waiting N s for LOCK held by ..." during a stall).
     *
     * <p>Why not the console handler: the spinlock logs while it holds the lock it has just
     * taken over, before the repair, and the first record through the console handler's
     * {@code SimpleFormatter} in a fresh JVM (date formatting, caller lookup, class loading)
     * costs tens of milliseconds, which every recovery the run measures would include
     * (CHAOS.md, "Recovery time, precisely"). A plain println does not.
     *
     * <p>The returned object holds the logger strongly, as java.util.logging requires.
     */
    static TakeoverLog install(boolean echo) {
        Logger logger = Logger.getLogger(LOGGER_NAME);
        TakeoverLog log = new TakeoverLog(logger);
        logger.addHandler(new Handler() {
            @Override
            public void publish(LogRecord record) {
                log.onMessage(record.getMessage(), System.nanoTime());
                if (echo) {
                    System.err.println(record.getLevel() + " " + LOGGER_NAME + ": " + record.getMessage());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        });
        logger.setUseParentHandlers(false);
        return log;
    }

    void onMessage(String message, long nanos) {
        if (message == null) {
            return;
        }
        Matcher m = TOOK_OVER.matcher(message);
        if (m.find()) {
            pending.add(new Event(Long.parseLong(m.group(2)), nanos, m.group(1)));
            return;
        }
        m = REPAIRING.matcher(message);
        if (m.find()) {
            pending.add(new Event(0, nanos, m.group(1)));
        }
    }

    /** The takeovers since the last call; cheap when there were none. */
    List<Event> drain() {
        if (pending.isEmpty()) {
            return List.of();
        }
        List<Event> events = new ArrayList<>();
        for (Event e; (e = pending.poll()) != null; ) {
            events.add(e);
        }
        return events;
    }

    @Override
    public String toString() {
        return "TakeoverLog{" + logger.getName() + "}";
    }
}
