package dev.shmheap.bench.alloc;

import dev.shmheap.CreateOption;
import dev.shmheap.ShmHeap;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A sparse heap for one benchmark trial, in /dev/shm (java.io.tmpdir where /dev/shm is
 * missing). Its file is unlinked as soon as the heap is open: the mapping and descriptor keep
 * it alive for this process, which is the only one using it, and nothing is left behind even
 * if a trial's tear-down never runs (a fork JMH ends with threads still running). Twice a full
 * run left a 256 MiB {@code shmheap-bench-prodcons-PID.heap} in /dev/shm.
 */
public final class BenchHeap implements AutoCloseable {
    private final Path path;
    private final ShmHeap heap;

    public BenchHeap(String name, long capacity) throws IOException {
        Path dir = Files.isDirectory(Path.of("/dev/shm")) && Files.isWritable(Path.of("/dev/shm"))
                ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
        path = dir.resolve("shmheap-bench-" + name + "-" + ProcessHandle.current().pid() + ".heap");
        Files.deleteIfExists(path);
        heap = ShmHeap.create(path, capacity, CreateOption.SPARSE);
        Files.deleteIfExists(path);
    }

    public ShmHeap heap() {
        return heap;
    }

    @Override
    public void close() throws IOException {
        heap.close();
    }
}
