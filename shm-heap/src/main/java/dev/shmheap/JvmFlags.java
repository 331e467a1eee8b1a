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
    private static final Properties PROPERTIES = load();
    private static final List<String> REQUIRED = List.copyOf(Arrays.asList(property("flags").split("\\s+")));

    private JvmFlags() {
    }

    /** The flags, e.g. {@code --add-opens=java.base/sun.nio.ch=ALL-UNNAMED}. */
    public static List<String> required() {
        return REQUIRED;
    }

    /** The {@code --add-opens} targets as an {@code Add-Opens} manifest value ("module/package ..."). */
    public static String manifestAddOpens() {
        return manifestForm("--add-opens=");
    }

    /** The {@code --add-exports} targets as an {@code Add-Exports} manifest value. */
    public static String manifestAddExports() {
        return manifestForm("--add-exports=");
    }

    /** What the build wrote for the jar manifests; must equal {@link #manifestAddOpens()}. */
    static String configuredManifestAddOpens() {
        return property("manifest.opens");
    }

    static String configuredManifestAddExports() {
        return property("manifest.exports");
    }

    private static String manifestForm(String prefix) {
        StringBuilder pairs = new StringBuilder();
        for (String flag : REQUIRED) {
            if (flag.startsWith(prefix) && flag.endsWith("=ALL-UNNAMED")) {
                pairs.append(pairs.length() == 0 ? "" : " ").append(flag, prefix.length(), flag.length() - "=ALL-UNNAMED".length());
            }
        }
        return pairs.toString();
    }

    private static String property(String key) {
        String value = PROPERTIES.getProperty(key, "").trim();
        if (value.isEmpty() || value.contains("${")) {
            throw new IllegalStateException("jvm-flags.properties was not filled in by the build: " + key + "=" + value);
        }
        return value;
    }

    private static Properties load() {
        try (InputStream in = JvmFlags.class.getResourceAsStream("jvm-flags.properties")) {
            if (in == null) {
                throw new IllegalStateException("jvm-flags.properties is missing from the shm-heap jar");
            }
            Properties properties = new Properties();
            properties.load(in);
            return properties;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
