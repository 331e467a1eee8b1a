package dev.shmheap.bench.alloc;

import dev.shmheap.CreateOption;
import dev.shmheap.ShmHeap;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A sparse heap for one benchmark trial, in /dev/shm (java.io.tmpdir where /dev/shm is
 * missing), deleted by {@link #close()}.
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
    }

    public ShmHeap heap() {
        return heap;
    }

    @Override
    public void close() throws IOException {
        try {
            heap.close();
        } finally {
            Files.deleteIfExists(path);
        }
    }
}
