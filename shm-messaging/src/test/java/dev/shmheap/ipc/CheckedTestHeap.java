package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A heap file for one test: created empty under {@link TestHeaps}, and at the end checked
 * (verify OK, used bytes back where they started: every message and channel freed), closed and
 * deleted.
 */
final class CheckedTestHeap implements AutoCloseable {
    private final Path path;
    private final ShmHeap heap;
    private final long usedAtStart;

    private CheckedTestHeap(Path path, ShmHeap heap) {
        this.path = path;
        this.heap = heap;
        this.usedAtStart = heap.stats().usedBytes();
    }

    static CheckedTestHeap create(String label, long capacity) throws Exception {
        Path path = TestHeaps.newPath(label);
        return new CheckedTestHeap(path, ShmHeap.create(path, capacity));
    }

    ShmHeap heap() {
        return heap;
    }

    Path path() {
        return path;
    }

    @Override
    public void close() throws Exception {
        try {
            assertTrue(heap.verify().ok(), () -> heap.verify().toString());
            assertEquals(usedAtStart, heap.stats().usedBytes(), "every message and the channel were freed");
        } finally {
            heap.close();
            TestHeaps.delete(path);
        }
    }
}
