package dev.shmheap.ipc.fanout;

import dev.shmheap.JvmFlags;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A child JVM running a main class of this module, its output lines collected for the test. */
final class ChildJvm implements AutoCloseable {
    private final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> all = Collections.synchronizedList(new ArrayList<>());

    private ChildJvm(Process process) {
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

    /** Starts {@code mainClass args} with java.home's java, shm-heap's flags and this JVM's classpath. */
    static ChildJvm start(Class<?> mainClass, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JvmFlags.required());
        command.addAll(List.of("-Xmx96m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        command.add("-cp");
        String surefire = System.getProperty("surefire.test.class.path");
        command.add(surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path"));
        command.add(mainClass.getName());
        command.addAll(List.of(args));
        return new ChildJvm(new ProcessBuilder(command).redirectErrorStream(true).start());
    }

    /** Waits for a line starting with {@code prefix}; fails with the child's output otherwise. */
    String awaitLine(String prefix, long timeoutSeconds) throws InterruptedException {
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
    int awaitExit(long timeoutSeconds) throws InterruptedException {
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            throw new AssertionError("child " + process.pid() + " did not exit within " + timeoutSeconds + " s; output: " + all);
        }
        return process.exitValue();
    }

    /** SIGKILL, then waits until the process is gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    String output() {
        return String.join("\n", all);
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }

    /** Where tests put heap files: /dev/shm when writable, else java.io.tmpdir. */
    static Path newHeapPath(String label) {
        Path shm = Path.of("/dev/shm");
        Path dir = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
        return dir.resolve("shmheap-fanout-test-" + label + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".heap");
    }
}
