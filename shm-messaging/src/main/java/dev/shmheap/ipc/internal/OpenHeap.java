package dev.shmheap.ipc.internal;

import dev.shmheap.ShmHeap;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How the bridge halves and the demo programs open their heap: an existing heap file is opened
 * whatever its capacity (the capacity option only says how large to make a new one, and another
 * process, or a test, may have created it with another), a missing one is created.
 * {@code ShmHeap.openOrCreate} refuses an existing heap of another capacity. Not API.
 */
public final class OpenHeap {
    private OpenHeap() {
    }

    /** Opens {@code path} if it exists, else creates it with {@code capacity} bytes (racing creators: see {@code ShmHeap.openOrCreate}). */
    public static ShmHeap existingOrNew(Path path, long capacity) throws IOException {
        if (Files.exists(path)) {
            return ShmHeap.open(path);
        }
        return ShmHeap.openOrCreate(path, capacity);
    }
}
