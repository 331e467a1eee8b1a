package dev.shmheap.cli;

import dev.shmheap.ShmHeap;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM that changes a heap when told, and is still between commands, so that a test can
 * compare two observers of the same moment. Commands on stdin, one per line, each answered
 * with "done" on stdout once finished:
 * <ul>
 *   <li>{@code allocate COUNT SIZE}: allocates COUNT blocks of SIZE bytes and keeps them;</li>
 *   <li>{@code free COUNT}: frees the COUNT blocks it allocated last;</li>
 *   <li>{@code churn MILLIS SIZE}: allocates and frees blocks of SIZE bytes for MILLIS ms;</li>
 *   <li>{@code halt}: stops without closing the heap, as a killed process would (no answer).</li>
 * </ul>
 * End of input closes the heap and exits.
 */
final class HeapChanger implements AutoCloseable {
    private final Process process;
    private final PrintWriter in;
    private final BufferedReader out;

    private HeapChanger(Process process) {
        this.process = process;
        this.in = new PrintWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8), true);
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    public static void main(String[] args) throws Exception {
        Deque<Long> held = new ArrayDeque<>();
        BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (ShmHeap heap = ShmHeap.open(Path.of(args[0]))) {
            System.out.println("ready");
            System.out.flush();
            for (String line; (line = commands.readLine()) != null; ) {
                String[] word = line.trim().split("\\s+");
                switch (word[0]) {
                    case "allocate" -> {
                        for (int i = 0; i < Integer.parseInt(word[1]); i++) {
                            held.push(heap.allocate(Long.parseLong(word[2])));
                        }
                    }
                    case "free" -> {
                        for (int i = 0; i < Integer.parseInt(word[1]); i++) {
                            heap.free(held.pop());
                        }
                    }
                    case "churn" -> churn(heap, Long.parseLong(word[1]), Long.parseLong(word[2]));
                    case "halt" -> Runtime.getRuntime().halt(0);
                    default -> throw new IllegalArgumentException("unknown command: " + line);
                }
                System.out.println("done");
                System.out.flush();
            }
        }
    }

    private static void churn(ShmHeap heap, long millis, long size) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        long[] batch = new long[64];
        while (System.nanoTime() < end) {
            for (int i = 0; i < batch.length; i++) {
                batch[i] = heap.allocate(size);
            }
            for (long offset : batch) {
                heap.free(offset);
            }
        }
    }

    /** Starts the child on {@code file} and waits until it has attached. */
    static HeapChanger start(Path file) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(dev.shmheap.JvmFlags.required());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), HeapChanger.class.getName(), file.toString()));
        HeapChanger changer = new HeapChanger(new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start());
        changer.expect("ready");
        return changer;
    }

    /** Sends one command and waits until the child has carried it out. */
    void command(String line) throws IOException {
        send(line);
        awaitDone();
    }

    /** Sends one command without waiting: the child works while the test looks. */
    void send(String line) {
        in.println(line);
    }

    /** Waits for the answer to a command {@link #send sent} before. */
    void awaitDone() throws IOException {
        expect("done");
    }

    long pid() {
        return process.pid();
    }

    /** Kills the child without letting it close the heap; waits until it is gone. */
    void halt() throws Exception {
        in.println("halt");
        process.onExit().get(30, TimeUnit.SECONDS);
    }

    private void expect(String word) throws IOException {
        String line = out.readLine();
        if (!word.equals(line)) {
            throw new IOException("the heap changer said " + line + " instead of " + word + " (exit " + (process.isAlive() ? "-" : process.exitValue()) + ")");
        }
    }

    @Override
    public void close() throws Exception {
        in.close();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
