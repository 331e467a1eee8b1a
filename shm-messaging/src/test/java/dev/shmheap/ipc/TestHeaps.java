package dev.shmheap.ipc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/** Where tests put heap files: /dev/shm when it exists, else java.io.tmpdir. */
public final class TestHeaps {
    private static final AtomicLong SEQUENCE = new AtomicLong();

    private TestHeaps() {
    }

    public static Path newPath(String label) {
        Path shm = Path.of("/dev/shm");
        Path dir = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
        return dir.resolve("shmheap-ipc-test-" + label + "-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet() + ".heap");
    }

    public static void delete(Path path) throws IOException {
        Files.deleteIfExists(path);
    }
}
