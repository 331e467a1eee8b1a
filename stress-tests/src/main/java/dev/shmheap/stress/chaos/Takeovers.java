package dev.shmheap.stress.chaos;

import dev.shmheap.LockTakeover;
import dev.shmheap.ShmHeap;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Notices the lock takeovers of this JVM through the heap's own report of them
 * ({@link ShmHeap#onLockTakeover}): the dead owner's pid and the moment of the takeover, kept
 * until the caller's operation completes, so that the chaos run can measure
 * kill-to-recovered-operation times. The heap calls the listener once the taken-over lock is
 * released, before the operation returns.
 */
final class Takeovers implements Consumer<LockTakeover> {
    /** The library's loggers: takeover warnings and "waiting N s for LOCK held by ..." during a stall. */
    static final String LIBRARY_LOGGER = "dev.shmheap";

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

    /** The library logger {@link #plainLibraryLog} configured, held strongly as java.util.logging requires. */
    private static Logger libraryLog;

    private final ConcurrentLinkedQueue<Event> pending = new ConcurrentLinkedQueue<>();

    private Takeovers() {
    }

    /** Starts listening to {@code heap}'s takeovers. */
    static Takeovers listenTo(ShmHeap heap) {
        Takeovers takeovers = new Takeovers();
        heap.onLockTakeover(takeovers);
        return takeovers;
    }

    @Override
    public void accept(LockTakeover takeover) {
        pending.add(new Event(takeover.deadPid(), takeover.atNanos(), takeover.lock()));
    }

    /**
     * Replaces the console handler of the library's loggers: with {@code echo} each message is
     * printed on stderr as one plain line (so that a worker's log keeps the takeover warnings),
     * else it is dropped. Why: the first record through the console handler's
     * {@code SimpleFormatter} in a fresh JVM (date formatting, caller lookup, class loading) costs
     * tens of milliseconds; the library logs after it released the lock, so no other process
     * waits for it, but the operation that took over returns only after it, and its completion
     * is what the run times (CHAOS.md, "Recovery time, precisely"). A plain println does not.
     */
    static synchronized void plainLibraryLog(boolean echo) {
        if (libraryLog != null) {
            return;
        }
        Logger logger = Logger.getLogger(LIBRARY_LOGGER);
        logger.addHandler(new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (echo) {
                    System.err.println(record.getLevel() + " " + record.getLoggerName() + ": " + record.getMessage());
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
        libraryLog = logger;
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
}
