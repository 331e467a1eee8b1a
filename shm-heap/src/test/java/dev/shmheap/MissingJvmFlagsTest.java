package dev.shmheap;

import dev.shmheap.internal.memory.MemoryLayer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A user's first run without the JVM flags, in real child JVMs: on Java 17-21 one clear error
 * that names the missing flag(s), {@code JvmFlags.required()} and the README section; on Java
 * 22+ (the FFM layer) no flag is needed at all.
 */
class MissingJvmFlagsTest {
    private static final long CHILD_TIMEOUT_MILLIS = 60_000;
    private static final String REFLECTION_FLAG = "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED";

    private Path dir;
    private Path heap;

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("shmheap-flags-");
        heap = TestHeaps.newPath("flags");
    }

    @AfterEach
    void tearDown() throws Exception {
        TestHeaps.delete(heap);
        ChildJvms.deleteRecursively(dir);
    }

    @Test
    void shouldNameEveryMissingFlagAndWhereToFindThemWhenStartedWithoutFlags() throws Exception {
        assumeFalse(MemoryLayer.foreign(), "the FFM layer needs no --add-opens");
        ChildJvms.Child child = run("no-flags", List.of());
        assertEquals(1, child.process().exitValue(), child::describe);
        String error = firstLine(child.err());
        assertTrue(error.contains("java.lang.IllegalStateException: cannot map the heap"), child::describe);
        for (String flag : JvmFlags.forJava17To21()) {
            if (flag.startsWith("--add-opens=")) {
                assertTrue(error.contains(flag), "names " + flag + ": " + error);
            }
        }
        assertTrue(error.contains("dev.shmheap.JvmFlags.required()"), error);
        assertTrue(error.contains("README.md, section \"Using it from your own project\""), error);
        assertFalse(Files.exists(heap), "a heap that cannot be mapped is not published: " + heap);
    }

    /**
     * Each flag left out alone: the mapping either works without it or fails naming exactly
     * that flag. Measured on Java 17.0.15: only the reflection package is needed to map; the
     * others cover Chronicle Core paths the library does not take today.
     */
    @ParameterizedTest
    @MethodSource("addOpensAndExports")
    void shouldNameExactlyTheOneFlagLeftOutWhenTheMappingNeedsIt(String leftOut) throws Exception {
        assumeFalse(MemoryLayer.foreign(), "the FFM layer needs no --add-opens");
        List<String> allButOne = new ArrayList<>(JvmFlags.forJava17To21());
        assertTrue(allButOne.remove(leftOut), allButOne::toString);
        ChildJvms.Child child = run("without-" + leftOut.replaceAll("[^a-z.]", ""), allButOne);
        String error = firstLine(child.err());
        if (child.process().exitValue() == 0) {
            assertFalse(leftOut.equals(REFLECTION_FLAG), "Chronicle Core's map needs " + REFLECTION_FLAG + ": " + child.describe());
            assertTrue(child.out().startsWith("mapped, read 42"), child::describe);
        } else {
            assertTrue(error.contains("lacks the flag that Chronicle Core needs on Java 17-21: " + leftOut + ". "), child::describe);
        }
    }

    static List<String> addOpensAndExports() {
        return JvmFlags.forJava17To21().stream().filter(flag -> flag.startsWith("--add-")).toList();
    }

    @Test
    void shouldMapWithTheFlagsItAsksFor() throws Exception {
        ChildJvms.Child child = run("with-flags", JvmFlags.required());
        assertEquals(0, child.process().exitValue(), child::describe);
        assertTrue(child.out().startsWith("mapped, read 42 through "), child::describe);
        assertEquals("", child.err(), "no warning with the flags it asks for: " + child.describe());
    }

    @Test
    void shouldNeedNoAddOpensOnJava22() throws Exception {
        assumeTrue(MemoryLayer.foreign(), "Java 17-21 (or a jar without the FFM layer) needs the add-opens flags");
        ChildJvms.Child child = run("no-flags-ffm", List.of());
        assertEquals(0, child.process().exitValue(), child::describe);
        assertEquals("mapped, read 42 through FFM (MemorySegment)", child.out().trim(), child::describe);
    }

    @Test
    void shouldRunTheMemoryLayerOfThisJava() {
        // the build runs the Java 22+ tests on the FFM classes (META-INF/versions/22 first on the class path)
        assertEquals(Runtime.version().feature() >= 22, MemoryLayer.foreign(), dev.shmheap.internal.memory.MappedMemory.implementation());
        if (MemoryLayer.foreign()) {
            assertEquals(List.of("--enable-native-access=ALL-UNNAMED", "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED"), JvmFlags.required());
        } else {
            assertEquals(JvmFlags.forJava17To21(), JvmFlags.required());
            assertTrue(JvmFlags.required().containsAll(JvmFlags.forJava22()) && JvmFlags.required().containsAll(JvmFlags.forAgrona()));
        }
    }

    private ChildJvms.Child run(String name, List<String> flags) throws Exception {
        ChildJvms.Child child = ChildJvms.startWithOptions(dir, name, flags, MapHeapChild.class, heap);
        ChildJvms.awaitExit(List.of(child), CHILD_TIMEOUT_MILLIS);
        return child;
    }

    private static String firstLine(String text) {
        return text.lines().findFirst().orElse("");
    }
}
