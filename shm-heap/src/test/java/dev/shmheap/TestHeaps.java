package dev.shmheap;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/** Where tests put heap files: /dev/shm when it exists, else java.io.tmpdir. */
final class TestHeaps {
    private static final AtomicLong SEQUENCE = new AtomicLong();

    private TestHeaps() {
    }

    static Path directory() {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    /** A path that does not exist yet, unique to this JVM and call. */
    static Path newPath(String label) {
        return directory().resolve("shmheap-test-" + label + "-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet() + ".heap");
    }

    static void delete(Path path) throws IOException {
        Files.deleteIfExists(path);
    }
}
