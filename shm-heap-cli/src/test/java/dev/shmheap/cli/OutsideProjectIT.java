package dev.shmheap.cli;

import dev.shmheap.JvmFlags;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a user does to depend on the library from their own project, in a scratch directory:
 * run the README's install command on a copy of the sources, build an outside project whose pom
 * is the README's (with a test that surefire runs with the pom's argLine), and run it: on Java 17
 * with the README's JVM flags, on the class path and on the module path; on Java 25 (the JDK
 * named by {@code JAVA22_HOME}, which the install also compiles the FFM layer with) through the
 * {@code MemorySegment} view, with sun.misc.Unsafe's memory access denied and no add-opens.
 *
 * <p>Isolation: everything goes to a temporary local repository ({@code -Dmaven.repo.local}),
 * so the user's ~/.m2 never sees the artifact. Dependencies and plugins resolve first from the
 * build's own local repository, read as a {@code file://} repository (so the test needs no
 * network when the build has run), then from Central. The scratch directory is deleted.
 */
class OutsideProjectIT {
    /** The command README.md gives, run from the repository root. */
    static final List<String> INSTALL_COMMAND = List.of("mvn", "-B", "-ntp", "-pl", "shm-heap", "-am", "install", "-DskipTests");
    /** Names the JDK 22+ the build compiles the FFM layer with (scripts/lib.sh and .ci/run set it). */
    static final String JAVA22_HOME = "JAVA22_HOME";
    private static final String README_SECTION = "## Using it from your own project";

    private static Path scratch;
    private static Path settings;
    private static Path repo;
    private static String version;
    private static Run install;

    @BeforeAll
    static void installTheLibrary() throws Exception {
        assumeTrue(onPath("mvn"), "mvn is not on the PATH");
        scratch = Files.createTempDirectory("shmheap-outside-");
        version = System.getProperty("shmheap.version", "0.1.0-SNAPSHOT");
        Path seed = Path.of(System.getProperty("shmheap.seed.repo", System.getProperty("user.home") + "/.m2/repository"));
        repo = scratch.resolve("repo");
        settings = scratch.resolve("settings.xml");
        Files.writeString(settings, settings(seed));
        // the README's install command, on a copy of the sources (the worktree's target/ stays untouched)
        Path sources = scratch.resolve("src");
        copySources(ScriptRuns.root(), sources);
        install = mvn(sources, INSTALL_COMMAND, Map.of());
    }

    @AfterAll
    static void deleteScratch() throws IOException {
        if (scratch == null) {
            return;
        }
        try (Stream<Path> paths = Files.walk(scratch)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    @Test
    void shouldInstallTheJarWithItsSourcesAndJavadoc() {
        assertEquals(0, install.exitCode, install::toString);
        for (String classifier : List.of("", "-sources", "-javadoc")) {
            Path jar = repo.resolve("dev/shmheap/shm-heap/" + version + "/shm-heap-" + version + classifier + ".jar");
            assertTrue(Files.isRegularFile(jar), "the install command put " + jar + " there: " + install);
        }
    }

    @Test
    void shouldBuildAndRunAProjectThatDependsOnTheInstalledLibrary() throws Exception {
        assertEquals(0, install.exitCode, install::toString);
        // 1. an outside project: the README's pom, a main, and a test of its own that needs the pom's argLine on Java 17
        Path app = newApp("app", readmePom(), Map.of("main/java/example/Main.java", APP_MAIN, "test/java/example/HeapTest.java", APP_TEST));
        String classpath = build(app, Map.of());

        // 2. run it with the JVM flags the README lists (JvmFlags.required() is the same list)
        Path heap = Cli.newPath("outside");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(JvmFlags.required());
        command.addAll(List.of("-cp", classpath, "example.Main", heap.toString()));
        try {
            Run run = exec(app, command, Map.of());
            assertEquals(0, run.exitCode, run::toString);
            assertEquals("", run.err, "no warnings: " + run);
            assertTrue(run.out.startsWith("outside project: OK, 128 bytes used"), run::toString);
            assertTrue(run.out.contains("\ninternal packages: accessible\n"), "the class path ignores module-info: " + run);

            // 3. the same on the module path: the library is the module dev.shmheap, which exports only dev.shmheap
            List<String> modulePath = new ArrayList<>();
            List<String> plainClasspath = new ArrayList<>(List.of(app.resolve("target/classes").toString()));
            for (String entry : Files.readString(app.resolve("classpath.txt")).trim().split(":")) {
                (entry.contains("shm-heap-") || entry.contains("chronicle-core-") || entry.contains("/jna-") || entry.contains("slf4j-")
                        ? modulePath : plainClasspath).add(entry);
            }
            List<String> modular = new ArrayList<>(command.subList(0, 1));
            for (String flag : JvmFlags.required()) {
                // Chronicle Core is the automatic module chronicle.core here, not part of ALL-UNNAMED
                modular.add(flag.startsWith("--add-") ? flag.replace("=ALL-UNNAMED", "=chronicle.core") : flag);
            }
            modular.addAll(List.of("--module-path", String.join(":", modulePath), "--add-modules", "dev.shmheap,org.slf4j.nop",
                    "-cp", String.join(":", plainClasspath), "example.Main", heap.toString()));
            Run onModulePath = exec(app, modular, Map.of());
            assertEquals(0, onModulePath.exitCode, onModulePath::toString);
            assertEquals("", onModulePath.err, "no warnings: " + onModulePath);
            assertTrue(onModulePath.out.startsWith("outside project: OK, 128 bytes used"), onModulePath::toString);
            assertTrue(onModulePath.out.contains("\ninternal packages: not exported\n"), onModulePath::toString);
        } finally {
            Files.deleteIfExists(heap);
        }
    }

    /**
     * Java 25: the README's pom with release 22, a main that writes through a block's
     * {@code MemorySegment}; built by Maven on Java 25 (its test runs with the pom's Java 22+
     * argLine) and run with only --enable-native-access, sun.misc.Unsafe's memory access denied.
     */
    @Test
    void shouldUseTheMemorySegmentViewFromAProjectOnJava25() throws Exception {
        assertEquals(0, install.exitCode, install::toString);
        String jdk = System.getenv(JAVA22_HOME);
        assumeTrue(jdk != null && Files.isExecutable(Path.of(jdk, "bin", "java")),
                JAVA22_HOME + " names no JDK 22+ (scripts/test.sh and .ci/run set it): the installed jar has no FFM layer to use");
        String pom = readmePom().replace("<maven.compiler.release>17</maven.compiler.release>", "<maven.compiler.release>22</maven.compiler.release>");
        assertTrue(pom.contains(">22<"), pom);
        Path app = newApp("app25", pom, Map.of("main/java/example/SegmentMain.java", SEGMENT_MAIN, "test/java/example/HeapTest.java", APP_TEST));
        Map<String, String> java25 = Map.of("JAVA_HOME", jdk, "MAVEN_OPTS", "--sun-misc-unsafe-memory-access=allow");
        String classpath = build(app, java25);

        Path heap = Cli.newPath("outside25");
        try {
            Run run = exec(app, List.of(Path.of(jdk, "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                    "--sun-misc-unsafe-memory-access=deny", "-cp", classpath, "example.SegmentMain", heap.toString()), Map.of());
            assertEquals(0, run.exitCode, run::toString);
            assertEquals("", run.err, "no warnings: " + run);
            assertEquals("segment of 128 bytes, read back 42 through the block; after close: IllegalStateException", run.out.trim(), run::toString);
        } finally {
            Files.deleteIfExists(heap);
        }
    }

    /** The pom of the README's section "Using it from your own project": its first xml block. */
    static String readmePom() throws IOException {
        String readme = Files.readString(ScriptRuns.root().resolve("README.md"));
        int section = readme.indexOf(README_SECTION);
        assertTrue(section >= 0, "README.md has a section " + README_SECTION);
        int start = readme.indexOf("```xml\n", section) + "```xml\n".length();
        int end = readme.indexOf("```", start);
        String pom = readme.substring(start, end);
        assertTrue(pom.startsWith("<project") && pom.contains("<artifactId>shm-heap</artifactId>"), pom);
        return pom.replace("<version>0.1.0-SNAPSHOT</version>", "<version>" + version + "</version>");
    }

    /**
     * Pins the plugins the README's pom leaves to Maven's defaults to the versions this build
     * uses, only so that they resolve from the seed; a user's own project needs none of them.
     */
    private static String pinnedForTheSeed(String pom) {
        String pins = """
                <pluginManagement>
                  <plugins>
                    <plugin><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>
                    <plugin><artifactId>maven-jar-plugin</artifactId><version>3.4.2</version></plugin>
                    <plugin><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version></plugin>
                    <plugin><artifactId>maven-install-plugin</artifactId><version>3.1.3</version></plugin>
                    <plugin><artifactId>maven-clean-plugin</artifactId><version>3.4.0</version></plugin>
                  </plugins>
                </pluginManagement>
                """;
        assertTrue(pom.contains("<build>\n"), pom);
        return pom.replaceFirst("<build>\n", "<build>\n" + pins);
    }

    /** A project directory with {@code pom} and the given files under src/. */
    private static Path newApp(String name, String pom, Map<String, String> sources) throws IOException {
        Path app = scratch.resolve(name);
        Files.createDirectories(app);
        Files.writeString(app.resolve("pom.xml"), pinnedForTheSeed(pom));
        for (Map.Entry<String, String> source : sources.entrySet()) {
            Path file = app.resolve("src").resolve(source.getKey());
            Files.createDirectories(file.getParent());
            Files.writeString(file, source.getValue());
        }
        return app;
    }

    /** Builds {@code app} (its test included) and returns its run-time class path. */
    private static String build(Path app, Map<String, String> environment) throws Exception {
        Run build = mvn(app, List.of("mvn", "-B", "-ntp", "-nsu", "package", "dependency:build-classpath",
                "-Dmdep.outputFile=classpath.txt"), environment);
        assertEquals(0, build.exitCode, build::toString);
        assertTrue(build.out.contains("Tests run: 1, Failures: 0, Errors: 0, Skipped: 0"), "the app's own test ran with the pom's argLine: " + build);
        String classpath = app.resolve("target/classes") + ":" + Files.readString(app.resolve("classpath.txt")).trim();
        assertTrue(classpath.contains("shm-heap-" + version + ".jar"), classpath);
        assertTrue(!classpath.contains("jnr-ffi") && !classpath.contains("jffi"), "the posix/jnr-ffi path is excluded: " + classpath);
        return classpath;
    }

    /** The build's local repository as a read-only file:// repository tried before Central. */
    private static String settings(Path seed) {
        String repository = "<id>seed</id><url>" + seed.toUri() + "</url><releases><enabled>true</enabled></releases>"
                + "<snapshots><enabled>false</enabled></snapshots>";
        return """
                <settings>
                  <profiles>
                    <profile>
                      <id>seed</id>
                      <repositories><repository>%s</repository></repositories>
                      <pluginRepositories><pluginRepository>%s</pluginRepository></pluginRepositories>
                    </profile>
                  </profiles>
                  <activeProfiles><activeProfile>seed</activeProfile></activeProfiles>
                </settings>
                """.formatted(repository, repository);
    }

    /** The parent POM, every module's POM (the reactor reads them all), and the library's sources. */
    private static void copySources(Path root, Path target) throws IOException {
        Files.createDirectories(target);
        Files.copy(root.resolve("pom.xml"), target.resolve("pom.xml"));
        try (Stream<Path> modules = Files.list(root)) {
            for (Path module : modules.filter(m -> Files.isRegularFile(m.resolve("pom.xml"))).toList()) {
                Files.createDirectories(target.resolve(module.getFileName()));
                Files.copy(module.resolve("pom.xml"), target.resolve(module.getFileName()).resolve("pom.xml"));
            }
        }
        Path src = root.resolve("shm-heap/src/main");
        try (Stream<Path> files = Files.walk(src)) {
            for (Path f : files.toList()) {
                Path to = target.resolve("shm-heap/src/main").resolve(src.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to);
                }
            }
        }
    }

    /** Uses only the public API: create, allocate, bind, then look at it read-only and verify. */
    private static final String APP_MAIN = """
            package example;

            import dev.shmheap.HeapObserver;
            import dev.shmheap.ProcessIdentity;
            import dev.shmheap.ShmHeap;
            import java.nio.file.Files;
            import java.nio.file.Path;

            public class Main {
                public static void main(String[] args) throws Exception {
                    Path file = Path.of(args[0]);
                    try (ShmHeap heap = ShmHeap.create(file, 1 << 20)) {
                        long block = heap.allocate(100);
                        heap.putLong(block, 42);
                        heap.bind("answer", block);
                        try (HeapObserver observer = HeapObserver.open(file)) {
                            long found = observer.lookup("answer").orElseThrow();
                            if (found != block || observer.getLong(found) != 42 || !observer.verify().ok()) {
                                throw new AssertionError("unexpected heap state: " + observer.verify());
                            }
                            System.out.println("outside project: OK, " + observer.stats().usedBytes() + " bytes used, data at offset "
                                    + observer.dataOffset() + ", this process alive: " + ProcessIdentity.isAlive(ProcessIdentity.current()));
                            System.out.println("internal packages: " + probeInternal());
                        }
                    } finally {
                        Files.deleteIfExists(file);
                    }
                }

                /** Whether the implementation is reachable: only on the class path, where module-info does not apply. */
                static String probeInternal() throws Exception {
                    try {
                        Class.forName("dev.shmheap.internal.process.ProcessTokens").getMethod("current").invoke(null);
                        return "accessible";
                    } catch (IllegalAccessException e) {
                        return "not exported";
                    }
                }
            }
            """;

    /** The outside project's own test: surefire runs it with the README pom's argLine. */
    private static final String APP_TEST = """
            package example;

            import dev.shmheap.HeapBlock;
            import dev.shmheap.ShmHeap;
            import java.nio.file.Files;
            import java.nio.file.Path;
            import org.junit.jupiter.api.Test;
            import static org.junit.jupiter.api.Assertions.assertEquals;
            import static org.junit.jupiter.api.Assertions.assertThrows;

            class HeapTest {
                @Test
                void blockAccessIsCheckedAgainstTheBlock() throws Exception {
                    Path file = Files.createTempFile("outside-test", ".heap");
                    Files.delete(file);
                    try (ShmHeap heap = ShmHeap.create(file, 1 << 20)) {
                        HeapBlock block = heap.block(heap.allocate(128), 128);
                        block.putLong(120, 7);
                        assertEquals(7, block.getLong(120));
                        assertThrows(IndexOutOfBoundsException.class, () -> block.putLong(228, 1));
                    } finally {
                        Files.deleteIfExists(file);
                    }
                }
            }
            """;

    /** Java 22+: the block as a MemorySegment, valid until the heap closes. */
    private static final String SEGMENT_MAIN = """
            package example;

            import dev.shmheap.HeapBlock;
            import dev.shmheap.ShmHeap;
            import java.lang.foreign.MemorySegment;
            import java.lang.foreign.ValueLayout;
            import java.nio.file.Files;
            import java.nio.file.Path;

            public class SegmentMain {
                public static void main(String[] args) throws Exception {
                    Path file = Path.of(args[0]);
                    MemorySegment segment;
                    String report;
                    try (ShmHeap heap = ShmHeap.create(file, 1 << 20)) {
                        HeapBlock block = heap.block(heap.allocate(128), 128);
                        segment = block.as(MemorySegment.class);
                        segment.set(ValueLayout.JAVA_LONG, 8, 42L);
                        report = "segment of " + segment.byteSize() + " bytes, read back " + block.getLong(8) + " through the block";
                    } finally {
                        Files.deleteIfExists(file);
                    }
                    try {
                        segment.get(ValueLayout.JAVA_LONG, 8);
                        System.out.println(report + "; after close: readable");
                    } catch (IllegalStateException e) {
                        System.out.println(report + "; after close: IllegalStateException");
                    }
                }
            }
            """;

    private record Run(List<String> command, int exitCode, String out, String err) {
        @Override
        public String toString() {
            return String.join(" ", command) + ": exit " + exitCode + "\n--- out ---\n" + tail(out) + "--- err ---\n" + tail(err);
        }

        private static String tail(String text) {
            List<String> lines = text.lines().toList();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size())) + "\n";
        }
    }

    private static Run mvn(Path dir, List<String> command, Map<String, String> environment) throws Exception {
        List<String> full = new ArrayList<>(command);
        full.addAll(List.of("-s", settings.toString(), "-Dmaven.repo.local=" + repo, "-Dstyle.color=never"));
        return exec(dir, full, environment);
    }

    private static Run exec(Path dir, List<String> command, Map<String, String> environment) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile());
        builder.environment().remove("JAVA_TOOL_OPTIONS");
        builder.environment().remove("JDK_JAVA_OPTIONS");
        builder.environment().remove("MAVEN_OPTS");
        builder.environment().putAll(environment);
        Path out = Files.createTempFile(dir, "run", ".out");
        Path err = Files.createTempFile(dir, "run", ".err");
        try {
            Process process = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!process.waitFor(10, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                throw new AssertionError(command + " did not finish in 10 minutes");
            }
            return new Run(command, process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        return path != null && Stream.of(path.split(":")).anyMatch(d -> Files.isExecutable(Path.of(d, program)));
    }
}
