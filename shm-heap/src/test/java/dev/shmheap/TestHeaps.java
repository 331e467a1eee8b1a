package dev.shmheap;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Where tests put heap files (/dev/shm when it exists, else java.io.tmpdir), and how they
 * corrupt them: through a FileChannel, as another process would.
 */
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

    /** A token whose pid belonged to a child process that has exited (and been reaped). */
    static long deadToken() throws Exception {
        for (int attempt = 0; attempt < 10; attempt++) {
            Process child = new ProcessBuilder("true").start();
            assertEquals(0, child.waitFor());
            long pid = child.pid();
            if (ProcessHandle.of(pid).isEmpty()) {
                return (pid << 32) | 0x1234L;
            }
        }
        throw new AssertionError("no exited child pid stayed unused");
    }

    static void writeLong(Path path, long offset, long value) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value);
            while (buffer.hasRemaining()) {
                channel.write(buffer, offset + buffer.position());
            }
        }
    }

    static long readLong(Path path, long offset) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (buffer.hasRemaining() && channel.read(buffer, offset + buffer.position()) > 0) {
                // read the whole word
            }
            return buffer.getLong(0);
        }
    }
}
