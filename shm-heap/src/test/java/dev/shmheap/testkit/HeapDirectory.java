package dev.shmheap.testkit;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A JUnit 5 extension that hands each test fresh heap paths and deletes every file the test
 * left, so that no test needs a {@code finally} of its own:
 * <pre>
 *   &#64;RegisterExtension
 *   final HeapDirectory heaps = new HeapDirectory();
 *   ...
 *   Path path = heaps.newPath("label");   // does not exist yet
 * </pre>
 * The paths lie in a directory of their own, {@code shmheap-test-PID-N} in {@code /dev/shm}
 * (in {@code java.io.tmpdir} where {@code /dev/shm} is missing or not writable), created at
 * the first {@link #newPath} of a test. After the test the directory goes with everything in
 * it: the heaps, creation temporaries, copies, FIFOs and links a test made there. A link is
 * removed, never followed, so its target outside the directory survives.
 */
public final class HeapDirectory implements AfterEachCallback {
    private static final AtomicLong SEQUENCE = new AtomicLong();

    private Path directory;
    /** Paths handed out in this directory, so that two calls with one label get two paths. */
    private long paths;

    /** Where tests put heap files: {@code /dev/shm}, or the temporary directory without it. */
    public static Path root() {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    /** A path that does not exist yet, {@code LABEL-N.heap} in this test's directory, new at every call. */
    public synchronized Path newPath(String label) {
        return directory().resolve(label + "-" + (++paths) + ".heap");
    }

    /** This test's directory, created on first use. */
    public synchronized Path directory() {
        if (directory == null) {
            try {
                directory = Files.createDirectory(root().resolve("shmheap-test-" + ProcessHandle.current().pid() + "-"
                        + SEQUENCE.incrementAndGet()));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create a directory for test heaps in " + root(), e);
            }
        }
        return directory;
    }

    @Override
    public void afterEach(ExtensionContext context) throws IOException {
        deleteAll();
    }

    /** Deletes the directory and everything in it, without following links; the next {@link #newPath} makes a new one. */
    public synchronized void deleteAll() throws IOException {
        if (directory == null) {
            return;
        }
        Files.walkFileTree(directory, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException failure) throws IOException {
                if (failure != null) {
                    throw failure;
                }
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
        directory = null;
        paths = 0;
    }
}
