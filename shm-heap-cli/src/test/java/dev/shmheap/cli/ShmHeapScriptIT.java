package dev.shmheap.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the real wrapper, scripts/shm-heap, in child processes against a heap file. Bound to
 * the integration-test phase (maven-failsafe), so target/shm-heap.jar exists and is newer
 * than the sources: the script must run it as it is, without rebuilding, and plain
 * `java -jar` must work on Java 17 with only the manifest's Add-Opens/Add-Exports.
 */
class ShmHeapScriptIT {
    private static Path root;
    private static Path jar;

    @BeforeAll
    static void locate() {
        root = Path.of(System.getProperty("shmheap.repo.root", "..")).toAbsolutePath().normalize();
        jar = Path.of(System.getProperty("shmheap.cli.jar", root.resolve("shm-heap-cli/target/shm-heap.jar").toString()));
        assertTrue(Files.isRegularFile(jar), jar + " is built in the package phase, before this test");
        assertTrue(Files.isExecutable(root.resolve("scripts/shm-heap")), "scripts/shm-heap is executable");
    }

    record Run(int exitCode, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- out ---\n" + out + "--- err ---\n" + err;
        }
    }

    /** Runs a command with no JVM flags of its own, as a user would, with a deadline. */
    private static Run run(List<String> command) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).directory(root.toFile());
        Map<String, String> env = builder.environment();
        env.remove("JAVA_TOOL_OPTIONS");
        env.remove("JDK_JAVA_OPTIONS");
        Path out = Files.createTempFile("shm-heap-it", ".out");
        Path err = Files.createTempFile("shm-heap-it", ".err");
        try {
            Process process = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(command + " did not finish in 120 s");
            }
            return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static Run script(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(root.resolve("scripts/shm-heap").toString()));
        command.addAll(List.of(args));
        Run run = run(command);
        assertFalse(run.err().contains("building"), "the fresh jar is used as it is: " + run);
        return run;
    }

    @Test
    void shouldCreateInspectAndVerifyAHeapThroughTheScript() throws Exception {
        Path file = Cli.newPath("script");
        try {
            Run create = script("create", file.toString(), "--size", "2m");
            assertEquals(0, create.exitCode(), create::toString);
            assertEquals("", create.err(), "no warnings from the JVM or Chronicle Core");
            assertTrue(create.out().startsWith("created " + file + ": capacity 2097152 bytes"), create::toString);

            Run stats = script("stats", file.toString(), "--json");
            assertEquals(0, stats.exitCode(), stats::toString);
            assertEquals("", stats.err(), stats::toString);
            Map<String, Object> json = Json.object(Json.parse(stats.out()));
            assertEquals(2097152L, json.get("totalBytes"));
            assertEquals(0L, json.get("usedBytes"));
            assertEquals(List.of(), Json.array(json.get("attachedProcesses")), "stats reads without attaching");

            Run verify = script("verify", file.toString());
            assertEquals(0, verify.exitCode(), verify::toString);
            assertTrue(verify.out().startsWith(file + ": OK\n"), verify::toString);

            Run map = script("map", file.toString(), "--width", "16");
            assertEquals(0, map.exitCode(), map::toString);
            assertFalse(map.out().contains("\u001b"), "stdout is a file, not a terminal: no colours");
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void shouldFailWithOneLineAndExit2ThroughTheScript() throws Exception {
        Path missing = Cli.newPath("script-missing");
        Run run = script("stats", missing.toString());
        assertEquals(2, run.exitCode(), run::toString);
        assertEquals("", run.out());
        assertEquals("shm-heap: " + missing + ": no such file\n", run.err());
    }

    @Test
    void shouldRunFromPlainJavaJarWithTheManifestFlags() throws Exception {
        try (JarFile jarFile = new JarFile(jar.toFile())) {
            Attributes main = jarFile.getManifest().getMainAttributes();
            assertEquals(ShmHeapCli.class.getName(), main.getValue("Main-Class"));
            assertEquals(dev.shmheap.JvmFlags.manifestAddOpens(), main.getValue("Add-Opens"));
            assertEquals(dev.shmheap.JvmFlags.manifestAddExports(), main.getValue("Add-Exports"));
            assertTrue(jarFile.stream().noneMatch(e -> e.getName().matches("META-INF/[^/]+\\.(SF|DSA|RSA|EC)")), "signature files excluded");
        }
        Path file = Cli.newPath("java-jar");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        try {
            Run create = run(List.of(java, "-jar", jar.toString(), "create", file.toString(), "--size", "64k"));
            assertEquals(0, create.exitCode(), create::toString);
            Run stats = run(List.of(java, "-jar", jar.toString(), "stats", file.toString()));
            assertEquals(0, stats.exitCode(), stats::toString);
            assertEquals("", stats.err(), "no illegal-access or Chronicle warnings: " + stats);
            assertTrue(stats.out().matches("(?s).*\\ncapacity +65536  64 KiB\\n.*"), stats::toString);
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
