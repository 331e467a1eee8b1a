package dev.shmheap;

import dev.shmheap.internal.view.HeapView;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * A read-only attachment to a heap: it looks and never changes a byte. Read permission on the
 * file is enough (it is opened {@code O_RDONLY} and mapped {@code PROT_READ}), and the observer
 * is not registered in the heap's process table. It has only reads; what changes a heap is
 * on {@link ShmHeap}.
 *
 * <p>It takes no lock, so {@link #verify()}, {@link #names()} and {@link #lookup} wait until
 * they have read a moment in which no operation was in flight (see {@link #verify(Duration)}),
 * and {@link #forEachBlock} tries for up to a second to walk such a moment. Instances are
 * thread-safe; {@link #close()} must not race with other calls on the same instance.
 *
 * <pre>{@code
 * try (HeapObserver heap = HeapObserver.open(Path.of("/dev/shm/demo.heap"))) {
 *     System.out.println(heap.stats().usedBytes() + " bytes used, " + heap.verify());
 * }
 * }</pre>
 */
public final class HeapObserver implements AutoCloseable {
    private final HeapView view;
    private final long token = ProcessIdentity.current();

    private HeapObserver(HeapView view) {
        this.view = view;
    }

    /**
     * Attaches to an existing heap as an observer. Like {@link ShmHeap#open} it refuses a file
     * someone else could have planted or may change, unless {@code options} trust it (see
     * {@link AttachOption}).
     *
     * @throws NoSuchFileException         if {@code file} does not exist
     * @throws UntrustedHeapFileException if it is a symbolic link, another user's file not
     *                                     shared with a group of this process, or writable by others
     * @throws HeapFormatException         if it is not a heap, is of another format version, is
     *                                     truncated, or its header is corrupt
     */
    public static HeapObserver open(Path file, AttachOption... options) throws IOException {
        return new HeapObserver(HeapFiles.map(file, true, HeapOpening.attachOptions(options)).view(file));
    }

    public Path path() {
        return view.path();
    }

    /** Bytes of the data region: what {@link HeapStats#totalBytes()} reports. */
    public long capacity() {
        return view.layout().capacity();
    }

    /** File offset of the data region's first byte; see {@link ShmHeap#dataOffset()}. */
    public long dataOffset() {
        return view.layout().dataOffset();
    }

    /** Length of the heap file: capacity plus metadata. */
    public long fileLength() {
        return view.layout().fileLength();
    }

    /** The largest block the heap can ever hand out. */
    public long largestBlockSize() {
        return view.layout().largestBlock();
    }

    /** Whether the heap was created with {@link CreateOption#RECLAIM_DEAD}. */
    public boolean reclaimsDead() {
        return view.reclaimsDead();
    }

    /** The per-process quota in bytes, 0 when none is set (see {@link ShmHeap#setProcessQuota}). */
    public long processQuota() {
        return stats().processQuota();
    }

    /** Heap-wide statistics from the shared counters. */
    public HeapStats stats() {
        return view.stats();
    }

    /** The processes registered in the heap's process table (never this observer). */
    public List<AttachedProcess> attachedProcesses() {
        return AttachedProcess.of(view.processes());
    }

    /** Who holds the live blocks, per process (see {@link Holdings}); one walk of the page map. */
    public Holdings holdings() {
        return view.holdings();
    }

    /**
     * The usable size of the live block at {@code offset}.
     *
     * @throws IllegalArgumentException if {@code offset} is not the start of a live block
     */
    public long usableSize(long offset) {
        return view.usableSize(offset);
    }

    /** The checks of {@link ShmHeap#verify()}, waiting without a limit as {@link #verify(Duration)} does. */
    public VerifyReport verify() {
        return verify(Duration.ofNanos(Long.MAX_VALUE));
    }

    /**
     * The checks of {@link ShmHeap#verify()} without taking any lock: walks the heap again until
     * one walk saw a moment in which no live process held a lock and no operation completed, and
     * reports a problem only when two such walks agree. Waits at most {@code timeout}.
     *
     * @throws HeapBusyException if no consistent walk was possible within {@code timeout},
     *                           naming the live lock holder or how often the heap changed
     */
    public VerifyReport verify(Duration timeout) {
        return view.verifyUnlocked(timeout, token);
    }

    /**
     * Visits every block of the data region in address order, from a walk no operation touched
     * if one succeeds within a second, else from one walk of a moving target.
     */
    public void forEachBlock(Consumer<BlockInfo> visitor) {
        view.forEachBlockUnlocked(visitor);
    }

    /** Every bound name and its offset, read at one moment. */
    public Map<String, Long> names() {
        return view.namesUnlocked();
    }

    /** The offset bound to {@code name}, if any. */
    public OptionalLong lookup(String name) {
        return view.lookupUnlocked(name);
    }

    // ---- bounds-checked reads: the access must lie inside the data region ----

    public long getLong(long offset) {
        return view.getLong(offset);
    }

    public long getLongVolatile(long offset) {
        return view.getLongVolatile(offset);
    }

    public int getInt(long offset) {
        return view.getInt(offset);
    }

    public byte getByte(long offset) {
        return view.getByte(offset);
    }

    public void getBytes(long offset, byte[] dst, int dstIndex, int length) {
        view.getBytes(offset, dst, dstIndex, length);
    }

    /** Unmaps the heap; nothing in the file changes. */
    @Override
    public void close() {
        if (!view.isClosed()) {
            view.close();
        }
    }

    @Override
    public String toString() {
        return "HeapObserver{" + view.path() + ", capacity=" + capacity() + "}";
    }
}
