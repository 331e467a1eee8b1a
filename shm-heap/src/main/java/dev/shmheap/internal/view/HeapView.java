package dev.shmheap.internal.view;

import dev.shmheap.BlockInfo;
import dev.shmheap.HeapBusyException;
import dev.shmheap.HeapStats;
import dev.shmheap.Holdings;
import dev.shmheap.VerifyReport;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.memory.NativeIo;
import dev.shmheap.internal.names.NameDirectory;
import dev.shmheap.internal.observe.ConsistentReads;
import dev.shmheap.internal.pagemap.DataBounds;
import dev.shmheap.internal.pagemap.ExtentReservations;
import dev.shmheap.internal.pagemap.PageMap;
import dev.shmheap.internal.stats.HeapFigures;
import dev.shmheap.internal.verify.HeapVerifier;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * What every attachment to a mapped heap has, whether it may write or only read: the mapping,
 * the readers of its structures, and the reads both {@code ShmHeap} and {@code HeapObserver}
 * serve. The reads here take no lock and write no byte; where a writer would take a lock for a
 * consistent answer, the {@code *Unlocked} methods wait for a moment in which no operation was
 * in flight instead (see {@link ConsistentReads}).
 *
 * <p>Closing is not synchronised with other calls: {@link #close()} must not race with them,
 * as the public classes document.
 */
public final class HeapView implements AutoCloseable {
    /** How long an observer's {@link #forEachBlockUnlocked} tries for a consistent walk: a picture is worth little more. */
    private static final long PICTURE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Path path;
    private final String file;
    private final HeapLayout layout;
    private final MappedMemory memory;
    /** For fallocate in a sparse heap opened read-write, else -1. */
    private final int fd;
    private final PageMap pages;
    private final ProcessTable processTable;
    private final NameDirectory names;
    private final HeapFigures figures;
    private final DataBounds bounds;
    private final ConsistentReads consistentReads;
    private volatile boolean closed;

    public HeapView(Path path, HeapLayout layout, MappedMemory memory, int fd) {
        this.path = path;
        this.file = path.toString();
        this.layout = layout;
        this.memory = memory;
        this.fd = fd;
        this.pages = new PageMap(memory, layout, new ExtentReservations(memory, layout, fd));
        this.processTable = new ProcessTable(memory, layout.processTableOffset());
        this.names = new NameDirectory(memory, layout.nameDirectoryOffset());
        this.figures = new HeapFigures(memory, layout, pages);
        this.bounds = new DataBounds(layout, pages.reservations(), file);
        this.consistentReads = new ConsistentReads(memory, layout, file);
    }

    public Path path() {
        return path;
    }

    /** The path as messages name it. */
    public String file() {
        return file;
    }

    public HeapLayout layout() {
        return layout;
    }

    public MappedMemory memory() {
        return memory;
    }

    public PageMap pages() {
        return pages;
    }

    public ProcessTable processTable() {
        return processTable;
    }

    public NameDirectory names() {
        return names;
    }

    public HeapFigures figures() {
        return figures;
    }

    public DataBounds bounds() {
        return bounds;
    }

    public ConsistentReads consistentReads() {
        return consistentReads;
    }

    // ---- open or closed ----

    /** Throws "heap FILE is closed" once {@link #close()} ran. */
    public void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("heap " + file + " is closed");
        }
    }

    public boolean reclaimsDead() {
        ensureOpen();
        return layout.reclaimDead();
    }

    public boolean isClosed() {
        return closed;
    }

    /** Marks the view closed (every later call throws) and unmaps the heap. */
    @Override
    public void close() {
        closed = true;
        memory.close();
        if (fd >= 0) {
            NativeIo.closeQuietly(fd);
        }
    }

    // ---- bounds-checked access to the data region ----

    /** Returns {@code offset} if the heap is open and {@code length} bytes from it lie in the data region. */
    public long checkData(long offset, long length) {
        ensureOpen();
        return bounds.check(offset, length);
    }

    /** The address of {@code offset} in this process. */
    public long address(long offset) {
        ensureOpen();
        bounds.checkInData(offset);
        return memory.baseAddress() + offset;
    }

    public long getLong(long offset) {
        return memory.getLong(checkData(offset, Long.BYTES));
    }

    public long getLongVolatile(long offset) {
        return memory.getLongVolatile(checkData(offset, Long.BYTES));
    }

    public int getInt(long offset) {
        return memory.getInt(checkData(offset, Integer.BYTES));
    }

    public byte getByte(long offset) {
        return memory.getByte(checkData(offset, Byte.BYTES));
    }

    public void getBytes(long offset, byte[] dst, int dstIndex, int length) {
        memory.getBytes(checkData(offset, length), dst, dstIndex, length);
    }

    // ---- figures and pictures ----

    public HeapStats stats() {
        ensureOpen();
        return figures.stats(processTable.entries().size());
    }

    public List<ProcessTable.Entry> processes() {
        ensureOpen();
        return processTable.entries();
    }

    public Holdings holdings() {
        ensureOpen();
        return figures.holdings();
    }

    /** The usable size of the live block at {@code offset}; else an {@link IllegalArgumentException} saying what is there. */
    public long usableSize(long offset) {
        ensureOpen();
        bounds.checkInData(offset);
        long size = pages.liveBlockSize(offset);
        if (size < 0) {
            throw new IllegalArgumentException(describeNonBlock(offset));
        }
        return size;
    }

    /** What lies at {@code offset} instead of the start of a live block, naming the heap. */
    public String describeNonBlock(long offset) {
        return NonBlockDescription.of(offset, pages, layout) + " (heap " + file + ")";
    }

    /** A verifier that checks as this attachment, whose token it names as the taker of locks. */
    public HeapVerifier verifier(long token) {
        return new HeapVerifier(memory, layout, pages, processTable, names, token, file);
    }

    /** The page map read without locks: a picture of a moving target while others change the heap. */
    public void forEachBlock(Consumer<BlockInfo> visitor) {
        ensureOpen();
        figures.forEachBlock(visitor);
    }

    // ---- reads of one moment without a lock ----

    /** Verifies without a lock, waiting at most {@code timeout} for a consistent walk (see {@link ConsistentReads}). */
    public VerifyReport verifyUnlocked(Duration timeout, long token) {
        ensureOpen();
        long nanos = timeout.isNegative() ? 0 : saturatedNanos(timeout);
        // a verifier collects what it finds: a fresh one per walk
        return consistentReads.read(() -> verifier(token).verifyUnlocked(), report -> !report.ok(), nanos).value();
    }

    /**
     * Visits the blocks of a walk that no operation touched, trying for up to a second; then,
     * as a writer's walk does, what one walk reads.
     */
    public void forEachBlockUnlocked(Consumer<BlockInfo> visitor) {
        ensureOpen();
        List<BlockInfo> blocks;
        try {
            blocks = consistentReads.read(() -> {
                List<BlockInfo> list = new ArrayList<>();
                figures.forEachBlock(list::add);
                return list;
            }, list -> false, PICTURE_WAIT_NANOS).value();
        } catch (HeapBusyException e) {
            blocks = new ArrayList<>();
            figures.forEachBlock(blocks::add);
        }
        blocks.forEach(visitor);
    }

    public OptionalLong lookupUnlocked(String name) {
        ensureOpen();
        byte[] bytes = NameDirectory.encode(name);
        return consistentReads.read(() -> names.lookup(bytes), found -> false, Long.MAX_VALUE).value();
    }

    public Map<String, Long> namesUnlocked() {
        ensureOpen();
        return consistentReads.read(names::entries, entries -> false, Long.MAX_VALUE).value();
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }
}
