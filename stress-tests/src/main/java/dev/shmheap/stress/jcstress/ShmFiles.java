package dev.shmheap.stress.jcstress;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the jcstress tests put their shared-memory files: /dev/shm, else java.io.tmpdir. */
final class ShmFiles {
    private ShmFiles() {
    }

    static Path directory() {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }
}
