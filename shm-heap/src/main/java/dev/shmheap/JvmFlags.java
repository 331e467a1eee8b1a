package dev.shmheap;

import dev.shmheap.internal.memory.MemoryLayer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

/**
 * The JVM flags a process using shm-heap needs, for code that starts child JVMs (which run the
 * same Java as this one).
 *
 * <ul>
 *   <li>Java 17-21 (Chronicle Core maps the heap through {@code sun.misc.Unsafe}):
 *       {@link #forJava17To21()}, {@code --add-opens} and {@code --add-exports} for Chronicle
 *       Core's mapping and off-heap access. The list is kept once, in the parent POM, and copied
 *       here at build time.</li>
 *   <li>Java 22+ (the jar's {@code META-INF/versions/22} maps it through the FFM API):
 *       {@link #forJava22()}, only {@code --enable-native-access=ALL-UNNAMED}, for JNA's libc
 *       calls; without it Java 24+ prints a warning, and a later release may refuse. The
 *       optional Agrona view of a block adds {@link #forAgrona()}.</li>
 * </ul>
 */
public final class JvmFlags {
    private static final Properties PROPERTIES = load();
    private static final List<String> JAVA_17_TO_21 = List.copyOf(Arrays.asList(property("flags").split("\\s+")));
    private static final List<String> JAVA_22 = List.of("--enable-native-access=ALL-UNNAMED");
    private static final List<String> AGRONA = List.of("--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED");
    private static final List<String> JAVA_22_WITH_AGRONA = java.util.stream.Stream.concat(JAVA_22.stream(), AGRONA.stream()).toList();

    private JvmFlags() {
    }

    /**
     * Every flag shm-heap may need on this JVM, the optional Agrona view of a block included:
     * where the heap is mapped through the FFM API (Java 22+ with the multi-release jar)
     * {@link #forJava22()} and {@link #forAgrona()}, else {@link #forJava17To21()} (which holds both).
     */
    public static List<String> required() {
        return MemoryLayer.foreign() ? JAVA_22_WITH_AGRONA : JAVA_17_TO_21;
    }

    /**
     * What {@code HeapBlock.as(UnsafeBuffer.class)} and the other Agrona views need: Agrona 2
     * reads and writes through {@code jdk.internal.misc.Unsafe}, which {@code java.base} exports
     * only on request (and which {@code --sun-misc-unsafe-memory-access} does not govern).
     */
    public static List<String> forAgrona() {
        return AGRONA;
    }

    /** The flags Chronicle Core needs on Java 17-21, e.g. {@code --add-opens=java.base/sun.nio.ch=ALL-UNNAMED}. */
    public static List<String> forJava17To21() {
        return JAVA_17_TO_21;
    }

    /** The one flag the heap needs on Java 22+: {@code --enable-native-access=ALL-UNNAMED} (JNA; a manifest's {@code Enable-Native-Access}). */
    public static List<String> forJava22() {
        return JAVA_22;
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
        for (String flag : JAVA_17_TO_21) {
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
