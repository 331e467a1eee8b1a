package dev.shmheap.cli;

import dev.shmheap.AttachOption;
import dev.shmheap.HeapObserver;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One heap file that {@code serve} watches: a read-only attachment that follows the file. Before
 * every read it looks at the path again; when the file is gone, the attachment is dropped and
 * the heap reported {@linkplain State#MISSING missing}; when another file took its place (a new
 * inode: deleted and created again, or renamed over), the old mapping is dropped and the new
 * file attached; when the file cannot be used (not a heap yet, shorter than its header says,
 * unreadable) the heap is reported {@linkplain State#UNUSABLE unusable} with the reason. Each
 * next read tries again, so the heap comes back by itself.
 *
 * <p>Thread safety: a read runs under the read lock, and the attachment changes (attach, close)
 * only under the write lock, so no thread ever reads a mapping that another one unmapped (which
 * would crash the JVM rather than throw). Reads run in parallel: a slow one (the map's walk
 * waits up to a second for a quiet moment) does not hold up a scrape.
 *
 * <p>Only the read methods of the attachment are used: the file is never changed and read
 * permission is enough.
 */
final class WatchedHeap implements AutoCloseable {
    /** What the last look at the file found. */
    enum State {
        /** Attached: the figures are of the file now at the path. */
        UP,
        /** No file at the path. */
        MISSING,
        /** A file is there but cannot be attached or was cut short; {@link #problem()} says why. */
        UNUSABLE
    }

    private final Path file;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Consumer<String> changes;
    private final AttachOption[] options;
    /** Written under the write lock, read under either lock. */
    private HeapObserver heap;
    /** The attached file's identity (device and inode on Linux), to see a replacement. */
    private Object attachedKey;
    private volatile State state = State.MISSING;
    private volatile String problem = "not looked at yet";
    /** Times a replaced or returning file was attached after the first attach. */
    private volatile long reattachments;
    private boolean attachedOnce;

    WatchedHeap(Path file) {
        this(file, change -> { });
    }

    /**
     * @param changes told one line whenever the heap goes away, becomes unusable or is attached again after that
     * @param options how to attach, as {@link HeapObserver#open(Path, AttachOption...)} takes them
     */
    WatchedHeap(Path file, Consumer<String> changes, AttachOption... options) {
        this.file = Objects.requireNonNull(file, "file");
        this.changes = Objects.requireNonNull(changes, "changes");
        this.options = options.clone();
    }

    Path file() {
        return file;
    }

    State state() {
        return state;
    }

    /** Why the heap is not {@link State#UP}; empty when it is. */
    String problem() {
        return state == State.UP ? "" : problem;
    }

    long reattachments() {
        return reattachments;
    }

    /**
     * Attaches now and throws what went wrong, for the start of {@code serve}: a path that is
     * wrong from the start is a mistake on the command line, not a heap that went away.
     */
    void attachOrThrow() throws IOException {
        lock.writeLock().lock();
        try {
            if (heap == null) {
                attach(Files.readAttributes(file, BasicFileAttributes.class));
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Runs {@code reader} on the heap as it is at the path now, after following a replacement;
     * empty when the heap is not {@link State#UP}. An exception of the reader (a corrupt header
     * read mid-way, say) marks the heap unusable and is not thrown: one bad heap must not fail
     * a scrape of the others.
     */
    <T> Optional<T> read(Function<HeapObserver, T> reader) {
        lock.readLock().lock();
        try {
            if (heap == null || !stillAttachedFile()) {
                lock.readLock().unlock(); // a read lock cannot be upgraded: follow under the write lock, then downgrade
                lock.writeLock().lock();
                try {
                    follow();
                    lock.readLock().lock();
                } finally {
                    lock.writeLock().unlock();
                }
                if (heap == null) {
                    return Optional.empty();
                }
            }
            return Optional.of(reader.apply(heap));
        } catch (RuntimeException e) {
            lock.readLock().unlock();
            lock.writeLock().lock();
            try {
                detach(State.UNUSABLE, "cannot read it: " + Failures.describe(e));
                lock.readLock().lock();
            } finally {
                lock.writeLock().unlock();
            }
            return Optional.empty();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Whether the path still names the attached file at its full length (under either lock, with a heap attached). */
    private boolean stillAttachedFile() {
        try {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
            return Objects.equals(attributes.fileKey(), attachedKey) && attributes.size() >= heap.fileLength();
        } catch (IOException e) {
            return false;
        }
    }

    /** The figures of this moment, as {@code stats} takes them. */
    Optional<HeapSnapshot> snapshot() {
        return read(HeapSnapshot::of);
    }

    /** Looks at the path and brings the attachment in line with it. Under the write lock. */
    private void follow() {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            detach(State.MISSING, "no file at " + file);
            return;
        } catch (IOException e) {
            detach(State.UNUSABLE, Failures.describe(e));
            return;
        }
        if (heap != null && !Objects.equals(attributes.fileKey(), attachedKey)) {
            detach(State.MISSING, "replaced by another file");
        }
        if (heap != null && attributes.size() < heap.fileLength()) {
            // reading the pages past the new end would raise SIGBUS: drop the mapping first
            detach(State.UNUSABLE, "the file shrank to " + attributes.size() + " bytes; the heap needs " + heap.fileLength());
            return;
        }
        if (heap == null) {
            try {
                attach(attributes);
            } catch (IOException | RuntimeException e) {
                detach(State.UNUSABLE, Failures.describe(e));
            }
        }
    }

    private void attach(BasicFileAttributes attributes) throws IOException {
        heap = HeapObserver.open(file, options);
        attachedKey = attributes.fileKey();
        if (attachedOnce) {
            reattachments++;
            changes.accept(file + " is back: attached again" + (reattachments == 1 ? "" : " (" + reattachments + " times so far)"));
        }
        attachedOnce = true;
        state = State.UP;
        problem = "";
    }

    private void detach(State newState, String why) {
        if (heap != null) {
            heap.close();
            heap = null;
            attachedKey = null;
        }
        if (attachedOnce && newState != State.UP && (newState != state || !why.equals(problem))) {
            changes.accept(file + " is " + LiveJson.stateName(newState) + ": " + why); // each change once, not each look
        }
        state = newState;
        problem = why;
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (heap != null) {
                heap.close();
                heap = null;
            }
            state = State.MISSING;
            problem = "closed";
        } finally {
            lock.writeLock().unlock();
        }
    }
}
