package dev.shmheap.internal.memory;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The classes of META-INF/versions/22 replace the Java 17 ones at run time, so each must offer
 * every public method of its Java 17 twin: a method missing from the FFM version would be a
 * {@code NoSuchMethodError} on Java 22+ only. Runs where the FFM layer runs (the Java 25 pass).
 */
class MemoryLayerVersionsTest {
    /** What only the FFM version has: the mapping's segment, for the block views. */
    private static final Set<String> FFM_ONLY = Set.of("public java.lang.foreign.MemorySegment segment()");

    @Test
    void shouldOfferEveryPublicMethodOfTheJava17VersionInTheFfmVersion() throws Exception {
        assumeTrue(MemoryLayer.foreign(), "the Java 17 classes run here; the FFM ones cannot be loaded");
        Path versioned = Path.of(MemoryLayer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertTrue(versioned.endsWith(Path.of("META-INF", "versions", "22")), versioned.toString());
        Path base = versioned.getParent().getParent().getParent();
        try (URLClassLoader java17 = new URLClassLoader(new URL[] {base.toUri().toURL()}, ClassLoader.getPlatformClassLoader())) {
            for (Class<?> ffm : List.of(MappedMemory.class, MemoryLayer.class, SegmentViews.class)) {
                Class<?> twin = Class.forName(ffm.getName(), false, java17);
                Set<String> ffmApi = publicApi(ffm);
                ffmApi.removeAll(FFM_ONLY);
                assertEquals(publicApi(twin), ffmApi, ffm.getSimpleName());
            }
        }
    }

    private static Set<String> publicApi(Class<?> type) {
        Set<String> api = new TreeSet<>();
        for (Method method : type.getDeclaredMethods()) {
            if (Modifier.isPublic(method.getModifiers())) {
                api.add((Modifier.isStatic(method.getModifiers()) ? "public static " : "public ") + method.getReturnType().getTypeName() + " "
                        + method.getName() + "(" + Arrays.stream(method.getParameterTypes()).map(Class::getTypeName).collect(Collectors.joining(", ")) + ")");
            }
        }
        return api;
    }
}
