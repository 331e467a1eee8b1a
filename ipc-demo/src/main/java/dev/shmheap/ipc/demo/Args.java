package dev.shmheap.ipc.demo;

import dev.shmheap.ipc.ChannelDescriptor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/** {@code --name value} options; {@code --flag} alone means true. Unknown names are rejected. */
final class Args {
    /** A command line the program cannot run with; the message says why and how to call it. */
    static final class UsageException extends IllegalArgumentException {
        UsageException(String message) {
            super(message);
        }
    }

    private final Map<String, String> values = new HashMap<>();

    private Args() {
    }

    static Args parse(String[] args, String usage, String... known) {
        Set<String> allowed = Set.of(known);
        Args parsed = new Args();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--help") || arg.equals("-h")) {
                System.out.println(usage);
                System.exit(0);
            }
            if (!arg.startsWith("--") || !allowed.contains(arg.substring(2))) {
                throw new UsageException("unknown argument '" + arg + "'\n" + usage);
            }
            boolean hasValue = i + 1 < args.length && !args[i + 1].startsWith("--");
            parsed.values.put(arg.substring(2), hasValue ? args[++i] : "true");
        }
        return parsed;
    }

    String get(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    int getInt(String name, int fallback) {
        return (int) getLong(name, fallback);
    }

    long getLong(String name, long fallback) {
        String value = values.get(name);
        if (value == null) {
            return fallback;
        }
        String v = value.replace("_", "").replace(",", "").toLowerCase();
        long unit = 1;
        if (v.endsWith("k")) {
            unit = 1L << 10;
        } else if (v.endsWith("m")) {
            unit = 1L << 20;
        } else if (v.endsWith("g")) {
            unit = 1L << 30;
        }
        try {
            return Long.parseLong(unit == 1 ? v : v.substring(0, v.length() - 1)) * unit;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number (suffixes k, m, g allowed): '" + value + "'");
        }
    }

    /**
     * Ring slots of the demo's channels unless {@code --slots} says otherwise: 256 KiB of the
     * default 32-byte slots (about 2,700 records of a 64-byte message in flight; a ring of 1,024
     * such slots, 32 KiB, kept the consumer waiting for room at every few hundred messages).
     */
    static final int DEFAULT_SLOTS = 8192;

    /** The ring slots given with {@code --slots}, else {@link #DEFAULT_SLOTS}. */
    int slots() {
        return getInt("slots", DEFAULT_SLOTS);
    }

    /**
     * The channel slot length given with {@code --slot-length}, else
     * {@link ChannelDescriptor#DEFAULT_SLOT_LENGTH}. Checked here, before any heap or child JVM
     * exists, so that a bad value is a usage error naming it rather than a failed channel create.
     */
    int slotLength() {
        long slotLength = getLong("slot-length", ChannelDescriptor.DEFAULT_SLOT_LENGTH);
        if (!ChannelDescriptor.isSlotLength(slotLength)) {
            throw new UsageException("--slot-length must be a multiple of " + ChannelDescriptor.SLOT_ALIGNMENT + " from "
                    + ChannelDescriptor.MIN_SLOT_LENGTH + " to " + ChannelDescriptor.MAX_SLOT_LENGTH + " bytes: '"
                    + get("slot-length", "") + "'");
        }
        return (int) slotLength;
    }

    /** The heap path given with --heap, or a new unique one under /dev/shm (else java.io.tmpdir). */
    Path heapPath(String label) {
        String given = values.get("heap");
        return given != null ? Path.of(given) : defaultDirectory().resolve("shmheap-" + label + "-" + ProcessHandle.current().pid() + ".heap");
    }

    static Path defaultDirectory() {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }
}
