package dev.shmheap.cli;

import dev.shmheap.JvmFlags;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a user does to depend on the library from their own project, in a scratch directory:
 * run the README's install command on a copy of the sources, build a minimal outside project
 * whose pom names only the library's coordinates, and run it with the README's JVM flags.
 *
 * <p>Isolation: everything goes to a temporary local repository ({@code -Dmaven.repo.local}),
 * so the user's ~/.m2 never sees the artifact. Dependencies and plugins resolve first from the
 * build's own local repository, read as a {@code file://} repository (so the test needs no
 * network when the build has run), then from Central. The scratch directory is deleted.
 */
class OutsideProjectIT {
    /** The command README.md gives, run from the repository root. */
    static final List<String> INSTALL_COMMAND = List.of("mvn", "-B", "-ntp", "-pl", "shm-heap", "-am", "install", "-DskipTests");

    private Path scratch;

    @BeforeEach
    void makeScratch() throws IOException {
        scratch = Files.createTempDirectory("shmheap-outside-");
    }

    @AfterEach
    void deleteScratch() throws IOException {
        if (scratch != null) {
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
    }

    @Test
    void shouldBuildAndRunAProjectThatDependsOnTheInstalledLibrary() throws Exception {
        assumeTrue(onPath("mvn"), "mvn is not on the PATH");
        Path root = ScriptRuns.root();
        String version = System.getProperty("shmheap.version", "0.1.0-SNAPSHOT");
        Path seed = Path.of(System.getProperty("shmheap.seed.repo", System.getProperty("user.home") + "/.m2/repository"));
        Path repo = scratch.resolve("repo");
        Path settings = scratch.resolve("settings.xml");
        Files.writeString(settings, settings(seed));

        // 1. the README's install command, on a copy of the sources (the worktree's target/ stays untouched)
        Path sources = scratch.resolve("src");
        copySources(root, sources);
        Run install = mvn(sources, INSTALL_COMMAND, settings, repo);
        assertEquals(0, install.exitCode, install::toString);
        Path installed = repo.resolve("dev/shmheap/shm-heap/" + version + "/shm-heap-" + version + ".jar");
        assertTrue(Files.isRegularFile(installed), "the install command put " + installed + " there: " + install);

        // 2. an outside project that names the coordinates and nothing else of ours
        Path app = scratch.resolve("app");
        Files.createDirectories(app.resolve("src/main/java/example"));
        Files.writeString(app.resolve("pom.xml"), appPom(version));
        Files.writeString(app.resolve("src/main/java/example/Main.java"), APP_MAIN);
        Run build = mvn(app, List.of("mvn", "-B", "-ntp", "-nsu", "package", "dependency:build-classpath",
                "-Dmdep.outputFile=classpath.txt"), settings, repo);
        assertEquals(0, build.exitCode, build::toString);
        String classpath = app.resolve("target/classes") + ":" + Files.readString(app.resolve("classpath.txt")).trim();
        assertTrue(classpath.contains("shm-heap-" + version + ".jar"), classpath);
        assertTrue(!classpath.contains("jnr-ffi") && !classpath.contains("jffi"), "the posix/jnr-ffi path is excluded: " + classpath);

        // 3. run it with the JVM flags the README lists (JvmFlags.required() is the same list)
        Path heap = Cli.newPath("outside");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(JvmFlags.required());
        command.addAll(List.of("-cp", classpath, "example.Main", heap.toString()));
        try {
            Run run = exec(app, command);
            assertEquals(0, run.exitCode, run::toString);
            assertEquals("", run.err, "no warnings: " + run);
            assertTrue(run.out.startsWith("outside project: OK, 128 bytes used"), run::toString);
            assertTrue(run.out.contains("\ninternal packages: accessible\n"), "the class path ignores module-info: " + run);

            // 4. the same on the module path: the library is the module dev.shmheap, which exports only dev.shmheap
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
            Run onModulePath = exec(app, modular);
            assertEquals(0, onModulePath.exitCode, onModulePath::toString);
            assertEquals("", onModulePath.err, "no warnings: " + onModulePath);
            assertTrue(onModulePath.out.startsWith("outside project: OK, 128 bytes used"), onModulePath::toString);
            assertTrue(onModulePath.out.contains("\ninternal packages: not exported\n"), onModulePath::toString);
        } finally {
            Files.deleteIfExists(heap);
        }
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

    /**
     * The pom a user writes: the coordinates, Java 17, and plugin versions pinned to the ones this
     * build uses (only so that they come from the seed; a user's own project needs none of them).
     */
    private static String appPom(String version) {
        return """
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <modelVersion>4.0.0</modelVersion>
                  <groupId>example</groupId>
                  <artifactId>uses-shm-heap</artifactId>
                  <version>1.0</version>
                  <properties>
                    <maven.compiler.release>17</maven.compiler.release>
                    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
                  </properties>
                  <dependencies>
                    <dependency>
                      <groupId>dev.shmheap</groupId>
                      <artifactId>shm-heap</artifactId>
                      <version>%s</version>
                    </dependency>
                    <!-- Chronicle Core logs through SLF4J: without a provider SLF4J prints a warning -->
                    <dependency>
                      <groupId>org.slf4j</groupId>
                      <artifactId>slf4j-nop</artifactId>
                      <version>%s</version>
                    </dependency>
                  </dependencies>
                  <build>
                    <pluginManagement>
                      <plugins>
                        <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version></plugin>
                        <plugin><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>
                        <plugin><artifactId>maven-jar-plugin</artifactId><version>3.4.2</version></plugin>
                        <plugin><artifactId>maven-surefire-plugin</artifactId><version>3.5.2</version></plugin>
                        <plugin><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version></plugin>
                      </plugins>
                    </pluginManagement>
                  </build>
                </project>
                """.formatted(version, System.getProperty("shmheap.slf4j.version", "2.0.17"));
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

    private static Run mvn(Path dir, List<String> command, Path settings, Path repo) throws Exception {
        List<String> full = new ArrayList<>(command);
        full.addAll(List.of("-s", settings.toString(), "-Dmaven.repo.local=" + repo, "-Dstyle.color=never"));
        return exec(dir, full);
    }

    private static Run exec(Path dir, List<String> command) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile());
        builder.environment().remove("JAVA_TOOL_OPTIONS");
        builder.environment().remove("JDK_JAVA_OPTIONS");
        builder.environment().remove("MAVEN_OPTS");
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
