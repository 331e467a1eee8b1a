package dev.shmheap.ipc.demo;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * {@code --name value} options of the fan-out and bridge commands; {@code --flag} alone means
 * true. Unknown names and malformed numbers are rejected with a message naming them.
 */
public final class CommandLine {
    private final Map<String, String> values = new HashMap<>();

    private CommandLine() {
    }

    /** @throws IllegalArgumentException naming the first unknown argument */
    public static CommandLine parse(String[] args, String usage, String... known) {
        Set<String> allowed = Set.of(known);
        CommandLine parsed = new CommandLine();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || !allowed.contains(arg.substring(2))) {
                throw new IllegalArgumentException("unknown argument '" + arg + "'\nusage: " + usage);
            }
            boolean hasValue = i + 1 < args.length && !args[i + 1].startsWith("--");
            parsed.values.put(arg.substring(2), hasValue ? args[++i] : "true");
        }
        return parsed;
    }

    public String get(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    /** @throws IllegalArgumentException if the option is missing */
    public String require(String name) {
        String value = values.get(name);
        if (value == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return value;
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    public int getInt(String name, int fallback) {
        long value = getLong(name, fallback);
        if (value > Integer.MAX_VALUE || value < Integer.MIN_VALUE) {
            throw new IllegalArgumentException("--" + name + "=" + value + " is out of range");
        }
        return (int) value;
    }

    /** A number with an optional k, m or g suffix (powers of 1024); underscores allowed. */
    public long getLong(String name, long fallback) {
        String value = values.get(name);
        if (value == null) {
            return fallback;
        }
        String v = value.replace("_", "").toLowerCase();
        int shift = v.endsWith("k") ? 10 : v.endsWith("m") ? 20 : v.endsWith("g") ? 30 : 0;
        try {
            return Long.parseLong(shift == 0 ? v : v.substring(0, v.length() - 1)) << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + "=" + value + " is not a number (suffixes k, m, g allowed)");
        }
    }
}
