package dev.shmheap.cli;

import dev.shmheap.ShmHeap;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM that attaches to a heap, allocates blocks and dies without closing it, as a
 * killed process would: its blocks stay held by a process that no longer runs.
 */
final class DeadHolder {
    private DeadHolder() {
    }

    /** Child: {@code FILE BLOCKS SIZE SHARED}: allocates BLOCKS of SIZE bytes, shares SHARED of them, then halts. */
    public static void main(String[] args) throws Exception {
        ShmHeap heap = ShmHeap.open(Path.of(args[0]));
        int blocks = Integer.parseInt(args[1]);
        long size = Long.parseLong(args[2]);
        int shared = Integer.parseInt(args[3]);
        for (int i = 0; i < blocks; i++) {
            long offset = heap.allocate(size);
            if (i < shared) {
                heap.share(offset);
            }
        }
        System.out.println("holding");
        System.out.flush();
        Runtime.getRuntime().halt(0); // no close(): what it holds stays held by a dead process
    }

    /** Runs the child to its end and returns its pid, which no longer runs when this returns. */
    static long leave(Path file, int blocks, long size, int shared) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(dev.shmheap.JvmFlags.required());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), DeadHolder.class.getName(), file.toString(),
                String.valueOf(blocks), String.valueOf(size), String.valueOf(shared)));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0 || !output.contains("holding")) {
            process.destroyForcibly();
            throw new AssertionError("child did not allocate and exit: " + output);
        }
        process.onExit().get(10, TimeUnit.SECONDS);
        return process.pid();
    }
}
