package dev.shmheap;

import java.nio.file.Path;

/**
 * Child JVM of {@link MissingJvmFlagsTest}: creates a heap, stores and reads one long, and
 * prints which memory layer did it. Whatever goes wrong ends the JVM with the exception's
 * stack trace on stderr, as in a user's first run.
 */
public final class MapHeapChild {
    private MapHeapChild() {
    }

    public static void main(String[] args) throws Exception {
        try (ShmHeap heap = ShmHeap.create(Path.of(args[0]), 1 << 20)) {
            long block = heap.allocate(64);
            heap.putLong(block, 42);
            System.out.println("mapped, read " + heap.getLong(block) + " through "
                    + dev.shmheap.internal.memory.MappedMemory.implementation());
        }
    }
}
