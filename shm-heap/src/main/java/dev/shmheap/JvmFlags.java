package dev.shmheap;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

/**
 * The JVM flags a process using shm-heap needs on Java 17+ ({@code --add-opens} and
 * {@code --add-exports} for Chronicle Core's mapping and off-heap access), for code that
 * starts child JVMs. The list is kept once, in the parent POM, and copied here at build time.
 */
public final class JvmFlags {
    private static final List<String> REQUIRED = load();

    private JvmFlags() {
    }

    public static List<String> required() {
        return REQUIRED;
    }

    private static List<String> load() {
        try (InputStream in = JvmFlags.class.getResourceAsStream("jvm-flags.properties")) {
            if (in == null) {
                throw new IllegalStateException("jvm-flags.properties is missing from the shm-heap jar");
            }
            Properties properties = new Properties();
            properties.load(in);
            String flags = properties.getProperty("flags", "").trim();
            if (flags.isEmpty() || flags.contains("${")) {
                throw new IllegalStateException("jvm-flags.properties was not filled in by the build: flags=" + flags);
            }
            return List.copyOf(Arrays.asList(flags.split("\\s+")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
