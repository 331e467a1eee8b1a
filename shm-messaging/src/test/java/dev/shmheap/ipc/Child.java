package dev.shmheap.ipc;

import dev.shmheap.JvmFlags;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A child JVM running a main class of this module (by default {@link ChildMain}), its output lines collected for the test. */
public final class Child implements AutoCloseable {
    private final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> all = java.util.Collections.synchronizedList(new ArrayList<>());

    private Child(Process process) {
        this.process = process;
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    all.add(line);
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // the child is gone; what it printed is in `all`
            }
        }, "child-output-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts {@code ChildMain args}; see {@link #start(Class, String...)}. */
    static Child start(String... args) throws IOException {
        return start(ChildMain.class, args);
    }

    /**
     * Starts {@code mainClass args} with java from java.home, shm-heap's JVM flags, and this
     * JVM's classpath (surefire runs with useManifestOnlyJar=false, so java.class.path is real).
     */
    public static Child start(Class<?> mainClass, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JvmFlags.required());
        command.addAll(List.of("-Xmx96m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        command.add("-cp");
        String surefire = System.getProperty("surefire.test.class.path");
        command.add(surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path"));
        command.add(mainClass.getName());
        command.addAll(List.of(args));
        return new Child(new ProcessBuilder(command).redirectErrorStream(true).start());
    }

    /** Waits for a line starting with {@code prefix}; fails with the child's output otherwise. */
    public String awaitLine(String prefix, long timeoutSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        for (;;) {
            long remaining = deadline - System.nanoTime();
            String line = remaining > 0 ? lines.poll(remaining, TimeUnit.NANOSECONDS) : null;
            if (line == null) {
                throw new AssertionError("child " + process.pid() + " printed no line starting with '" + prefix + "' within "
                        + timeoutSeconds + " s; alive=" + process.isAlive() + "; output: " + all);
            }
            if (line.startsWith(prefix)) {
                return line;
            }
        }
    }

    /** Waits for the child to exit and returns its status; fails if it does not exit in time. */
    public int awaitExit(long timeoutSeconds) throws InterruptedException {
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            throw new AssertionError("child " + process.pid() + " did not exit within " + timeoutSeconds + " s; output: " + all);
        }
        return process.exitValue();
    }

    public long pid() {
        return process.pid();
    }

    public String output() {
        return String.join("\n", all);
    }

    /** SIGKILL, then waits until the process is gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
