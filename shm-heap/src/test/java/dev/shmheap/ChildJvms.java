package dev.shmheap;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Starts real child JVMs running a main class of the test sources, with the test classpath and
 * the JVM flags shm-heap needs ({@link JvmFlags#required()}). Each child's stdout and stderr go
 * to files in a control directory, so a chatty child can never block on a full pipe.
 */
final class ChildJvms {
    /** What the launcher option --sun-misc-unsafe-memory-access (Java 23+) sets. */
    private static final String UNSAFE_MEMORY_ACCESS = "sun.misc.unsafe.memory.access";

    private ChildJvms() {
    }

    /** A started child: its process and where its output goes. */
    record Child(String name, Process process, Path stdout, Path stderr) {
        String out() {
            return read(stdout);
        }

        String err() {
            return read(stderr);
        }

        /** Name, pid, exit code (if any) and both outputs, for failure messages. */
        String describe() {
            String exit = process.isAlive() ? "still running" : "exit " + process.exitValue();
            return "child " + name + " (pid " + process.pid() + ", " + exit + ")\n--- stdout ---\n" + out() + "--- stderr ---\n" + err();
        }

        private static String read(Path file) {
            try {
                return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
            } catch (IOException e) {
                return "(cannot read " + file + ": " + e + ")";
            }
        }
    }

    /**
     * The classpath of the forked test JVM. With surefire's manifest-only jar,
     * {@code java.class.path} holds only the booter jar; surefire then publishes the real one in
     * {@code surefire.test.class.path}.
     */
    static String testClassPath() {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) {
            cp = System.getProperty("java.class.path");
        }
        return cp;
    }

    /** Starts {@code mainClass} with {@code args} in a new JVM; output goes to {@code dir}. */
    static Child start(Path dir, String name, Class<?> mainClass, Object... args) throws IOException {
        return start(dir, name, List.of(), mainClass, args);
    }

    /** The same, with extra JVM options such as {@code -Dkey=value}. */
    static Child start(Path dir, String name, List<String> jvmOptions, Class<?> mainClass, Object... args) throws IOException {
        List<String> options = new ArrayList<>(JvmFlags.required());
        options.addAll(jvmOptions);
        return startWithOptions(dir, name, options, mainClass, args);
    }

    /**
     * Starts {@code mainClass} with exactly {@code jvmOptions} (no {@link JvmFlags#required()}),
     * plus this JVM's choice for sun.misc.Unsafe's memory access when it made one (the Java 25
     * test run denies it, and so do its children).
     */
    static Child startWithOptions(Path dir, String name, List<String> jvmOptions, Class<?> mainClass, Object... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String unsafeAccess = System.getProperty(UNSAFE_MEMORY_ACCESS);
        if (unsafeAccess != null) {
            command.add("-D" + UNSAFE_MEMORY_ACCESS + "=" + unsafeAccess);
        }
        command.addAll(jvmOptions);
        // Small, quick-starting children: the machine is shared and has two cores.
        command.add("-Xmx64m");
        command.add("-XX:+UseSerialGC");
        command.add("-XX:TieredStopAtLevel=1");
        command.add("-cp");
        command.add(testClassPath());
        command.add(mainClass.getName());
        for (Object arg : args) {
            command.add(String.valueOf(arg));
        }
        Path stdout = dir.resolve(name + ".out");
        Path stderr = dir.resolve(name + ".err");
        Process process = new ProcessBuilder(command)
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile())
                .redirectInput(ProcessBuilder.Redirect.PIPE)
                .start();
        process.getOutputStream().close();
        return new Child(name, process, stdout, stderr);
    }

    /**
     * Waits until every file in {@code files} exists. Throws {@link AssertionError} (with the
     * children's output) if a child exits first or {@code timeoutMillis} passes.
     */
    static void awaitFiles(List<Path> files, List<Child> children, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (true) {
            if (files.stream().allMatch(Files::exists)) {
                return;
            }
            for (Child child : children) {
                if (!child.process().isAlive()) {
                    throw new AssertionError("a child exited before reaching the barrier " + files + ":\n" + child.describe());
                }
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("children did not reach the barrier " + files + " within " + timeoutMillis + " ms:\n"
                        + describeAll(children));
            }
            Thread.sleep(5);
        }
    }

    /**
     * Waits for all children to exit within {@code timeoutMillis} in total; on timeout kills
     * every child still running and throws {@link AssertionError} with their output.
     */
    static void awaitExit(List<Child> children, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        for (Child child : children) {
            long left = deadline - System.nanoTime();
            if (!child.process().waitFor(Math.max(0, left), TimeUnit.NANOSECONDS)) {
                String state = describeAll(children);
                destroyAll(children);
                throw new AssertionError("children still running after " + timeoutMillis + " ms; killed them:\n" + state);
            }
        }
    }

    /** Kills the children still running and reaps them; for finally blocks. */
    static void destroyAll(List<Child> children) throws InterruptedException {
        for (Child child : children) {
            if (child.process().isAlive()) {
                child.process().destroyForcibly();
            }
        }
        for (Child child : children) {
            child.process().waitFor(10, TimeUnit.SECONDS);
        }
    }

    static String describeAll(List<Child> children) {
        StringBuilder sb = new StringBuilder();
        for (Child child : children) {
            sb.append(child.describe()).append('\n');
        }
        return sb.toString();
    }

    /** The value of the last stdout line {@code key=value} of a child, or null. */
    static String lastValue(String stdout, String key) {
        String value = null;
        for (String line : stdout.split("\n")) {
            if (line.startsWith(key + "=")) {
                value = line.substring(key.length() + 1).trim();
            }
        }
        return value;
    }

    /** Deletes a directory the test made, with everything in it. */
    static void deleteRecursively(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
