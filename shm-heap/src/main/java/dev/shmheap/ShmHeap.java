package dev.shmheap;

import dev.shmheap.internal.alloc.BlockRequests;
import dev.shmheap.internal.attach.Attachment;
import dev.shmheap.internal.view.HeapView;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * A heap in a memory-mapped file that several processes allocate from at once. Blocks are
 * named by their <em>offset</em> in the file, which means the same in every process; turn
 * one into an address with {@link #address(long)} only inside the process that uses it.
 *
 * <p>Small requests ({@code size <= C && alignment <= C} for C in 64..4096) come from slab
 * classes, larger ones from a buddy allocator; see the README for the policy details.
 * Instances are thread-safe; {@link #close()} must not race with other calls on the same
 * instance. To look at a heap without changing it, attach a {@link HeapObserver} instead.
 *
 * <pre>{@code
 * try (ShmHeap heap = ShmHeap.openOrCreate(Path.of("/dev/shm/demo.heap"), 64 << 20)) {
 *     long block = heap.allocate(128);
 *     heap.putLong(block, 42);
 *     // hand `block` to another process, which calls heap.getLong(block) and heap.free(block)
 * }
 * }</pre>
 */
public final class ShmHeap implements AutoCloseable {
    /** What {@link #tryAllocate} returns when the heap (or the quota) cannot satisfy a request now. */
    public static final long NO_SPACE = BlockRequests.NO_SPACE;
    /** The alignment {@link #allocate(long)} uses. */
    public static final long DEFAULT_ALIGNMENT = BlockRequests.DEFAULT_ALIGNMENT;

    private final Attachment attachment;
    private final HeapView view;

    private ShmHeap(Attachment attachment) {
        this.attachment = attachment;
        this.view = attachment.view();
    }

    /**
     * Creates a heap of {@code capacityBytes} data bytes (rounded up to 4 KiB pages, 32 KiB to
     * 1 TiB) in a new file and opens it. Metadata adds 96 bytes per 4 KiB page (page map and
     * holder map) plus 92 KiB to the file; the data region starts at an aligned offset.
     *
     * @throws FileAlreadyExistsException if {@code file} exists
     * @throws NoSuchFileException        naming {@code file} if its directory does not exist
     * @throws IOException                if the file or (without {@link CreateOption#SPARSE}) its space cannot be had
     * @throws IllegalArgumentException   if the capacity is out of range
     */
    public static ShmHeap create(Path file, long capacityBytes, CreateOption... options) throws IOException {
        HeapOpening.create(file, capacityBytes, options);
        return open(file);
    }

    /**
     * Attaches to an existing heap, created by any process, to allocate and free in it.
     *
     * @throws NoSuchFileException         if {@code file} does not exist
     * @throws UntrustedHeapFileException if it is a symbolic link, another user's file or
     *                                     writable by others (see {@link AttachOption})
     * @throws HeapFormatException         if it is not a heap, is of another format version, is
     *                                     truncated, or its header is corrupt
     */
    public static ShmHeap open(Path file, AttachOption... options) throws IOException {
        return new ShmHeap(HeapOpening.open(file, options));
    }

    /**
     * Opens {@code file} if it exists, else creates it with {@code capacityBytes}. Safe when
     * many processes call it at once: exactly one creates the heap, all get the same heap.
     * {@link CreateOption}s apply if this call creates the heap, {@link AttachOption}s when it
     * opens one.
     *
     * @throws IllegalArgumentException naming the file and both capacities when an existing heap
     *                                  has another capacity than {@code capacityBytes} asks for
     *                                  (rounded as {@link #create} rounds it)
     */
    public static ShmHeap openOrCreate(Path file, long capacityBytes, HeapOption... options) throws IOException {
        return new ShmHeap(HeapOpening.openOrCreate(file, capacityBytes, options));
    }

    public Path path() {
        return view.path();
    }

    /** Bytes of the data region: {@link HeapStats#totalBytes()}. */
    public long capacity() {
        return view.layout().capacity();
    }

    /** File offset of the data region: blocks lie in {@code [dataOffset(), dataOffset() + capacity())}; {@link Problem} page p at {@code + p * 4096}. */
    public long dataOffset() {
        return view.layout().dataOffset();
    }

    /** Length of the heap file: capacity plus metadata. */
    public long fileLength() {
        return view.layout().fileLength();
    }

    /** The largest block {@code allocate} can ever return. */
    public long largestBlockSize() {
        return view.layout().largestBlock();
    }

    /** The largest alignment {@code allocate} accepts: min(2 MiB, largest block). */
    public long maxAlignment() {
        return view.layout().maxAlignment();
    }

    /** Allocates at least {@code size} bytes aligned to 8; see {@link #allocate(long, long)}. */
    public long allocate(long size) {
        return allocate(size, DEFAULT_ALIGNMENT);
    }

    /**
     * Allocates at least {@code size} bytes whose offset is a multiple of {@code alignment}
     * (and, since mappings start on a page boundary, whose address is too, up to 4096).
     *
     * @return the block's offset in the file
     * @throws IllegalArgumentException if size is not positive or exceeds {@link #largestBlockSize()},
     *                                  or alignment is not a power of two or exceeds {@link #maxAlignment()}
     * @throws HeapFullException        if no free block is large enough now, or this process
     *                                  would exceed the {@linkplain #setProcessQuota quota}
     */
    public long allocate(long size, long alignment) {
        return attachment.requests().allocate(size, alignment);
    }

    /**
     * Like {@link #allocate(long, long)} but returns {@link #NO_SPACE} where it would throw
     * {@link HeapFullException} (the heap is full now, or this process is at its quota), for hot
     * paths that handle backpressure themselves. A request that can never succeed is misuse and
     * still throws {@link IllegalArgumentException}: {@code size <= 0}, {@code size >}
     * {@link #largestBlockSize()}, an alignment that is not a power of two or exceeds
     * {@link #maxAlignment()}.
     */
    public long tryAllocate(long size, long alignment) {
        return attachment.requests().tryAllocate(size, alignment);
    }

    /**
     * Frees the block at {@code offset}, whichever process allocated it. A block with a name
     * {@linkplain #bind bound} to it cannot be freed: {@link #unbind} first, so no name leads to a freed block.
     *
     * @throws IllegalArgumentException naming the offset if it is outside the data region, not
     *                                  the start of a block, or not allocated (double free)
     * @throws IllegalStateException    naming the name if one is bound to the block
     *                                  (the heap is unchanged when it throws)
     */
    public void free(long offset) {
        attachment.requests().free(offset);
    }

    /**
     * Gives the live block at {@code offset} to the heap: no process holds it any more, so it is
     * never reclaimed when a process dies; only an explicit {@link #free} ends it. A block belongs
     * to the process that allocated it until that process frees, shares or hands it off (in a
     * {@link CreateOption#RECLAIM_DEAD} heap a dead process's blocks are freed). {@link #bind}
     * shares the block it names. Sharing a shared block does nothing.
     *
     * @throws IllegalArgumentException naming the offset if no live block starts there
     */
    public void share(long offset) {
        attachment.requests().share(offset);
    }

    /**
     * Passes the live block at {@code offset} on to whoever will {@link #takeOver} it (a message's
     * receiver).
     *
     * @throws IllegalArgumentException naming the offset if no live block starts there
     * @throws IllegalStateException    if the block is shared
     */
    public void handOff(long offset) {
        attachment.requests().handOff(offset);
    }

    /**
     * Makes this process the holder of the live handed-off (or dead-held) block at {@code offset}:
     * a RECLAIM_DEAD heap reclaims it if this process dies holding it.
     *
     * @throws IllegalArgumentException naming the offset if no live block starts there
     * @throws IllegalStateException    if the block is shared, or a live process holds it
     */
    public void takeOver(long offset) {
        attachment.requests().takeOver(offset);
    }

    /**
     * Frees every block a process that no longer runs holds (with or without RECLAIM_DEAD) and its
     * process-table slot; shared, handed-off and live processes' blocks are untouched.
     */
    public RecoveryReport reclaimDead() {
        return attachment.reclaimDead();
    }

    /**
     * Sets the per-process quota, stored in the heap for every process: none may hold more than
     * {@code bytes} (allocated or taken over, not freed, shared or handed off); 0 removes it.
     *
     * @throws IllegalArgumentException if {@code bytes} is negative
     */
    public void setProcessQuota(long bytes) {
        attachment.setProcessQuota(bytes);
    }

    /**
     * Whether the heap was created with {@link CreateOption#RECLAIM_DEAD}: blocks of processes
     * that no longer run are freed at open, by {@link #recover()} and before a heap-full error.
     */
    public boolean reclaimsDead() {
        return view.reclaimsDead();
    }

    /** The per-process quota in bytes, 0 when none is set. */
    public long processQuota() {
        return attachment.processQuota();
    }

    /** Who holds the live blocks, per process (see {@link Holdings}); one walk of the page map. */
    public Holdings holdings() {
        return view.holdings();
    }

    /**
     * The usable size (slab or buddy block size, at least what was requested) of the live block
     * at {@code offset}; {@link IllegalArgumentException} if no live block starts there.
     */
    public long usableSize(long offset) {
        return view.usableSize(offset);
    }

    /**
     * Tells {@code listener} of each lock this attachment takes over from a dead holder, once it is
     * repaired and released (on the taking thread: keep it short); null removes it. Also logged.
     */
    public void onLockTakeover(Consumer<LockTakeover> listener) {
        attachment.onLockTakeover(listener);
    }

    /** Returns empty slab sets to the buddy and merges free buddies (as a failing request does); returns the bytes released. */
    public long trim() {
        return attachment.trim();
    }

    /** Heap-wide statistics from the shared counters, read without locks. */
    public HeapStats stats() {
        return view.stats();
    }

    /** The processes registered in the heap's process table. */
    public List<AttachedProcess> attachedProcesses() {
        return AttachedProcess.of(view.processes());
    }

    /**
     * Checks every invariant (page map, lists, counters against a recount) holding every lock (a
     * dead holder's is reported, not taken over), so the report is of one moment.
     */
    public VerifyReport verify() {
        return attachment.verify();
    }

    /**
     * The checks of {@link #verify()} without a lock, as {@link HeapObserver#verify(Duration)}
     * makes them, waiting at most {@code timeout}; else {@link HeapBusyException} naming why.
     */
    public VerifyReport verify(Duration timeout) {
        return attachment.verify(timeout);
    }

    /** Visits every block of the data region in address order, read without locks (a moving target while others work). */
    public void forEachBlock(Consumer<BlockInfo> visitor) {
        view.forEachBlock(visitor);
    }

    /**
     * Repairs the heap after processes died in it: takes over dead holders' locks, rebuilds lists
     * and counters from the page map, removes dead processes from the process table.
     *
     * @throws IllegalStateException naming the lock and its live owner if one holds a lock over a second
     */
    public RecoveryReport recover() {
        return attachment.recover();
    }

    /**
     * Binds {@code name} (1 to 47 UTF-8 bytes) to the live block at {@code offset}, which it
     * {@linkplain #share shares}, for other processes to {@link #lookup}; it cannot be freed while bound.
     *
     * @throws IllegalArgumentException if the name is empty or too long, or the offset is not a live block
     * @throws IllegalStateException    if the name is already bound
     * @throws ShmHeapException         if all 256 entries are in use
     */
    public void bind(String name, long offset) {
        attachment.bind(name, offset);
    }

    /** The offset bound to {@code name}, if any. */
    public OptionalLong lookup(String name) {
        return attachment.lookup(name);
    }

    /** Removes the binding of {@code name} and returns the offset it named; {@link IllegalArgumentException} if it is invalid or not bound. */
    public long unbind(String name) {
        return attachment.unbind(name);
    }

    /** Every bound name and its offset. */
    public Map<String, Long> names() {
        return attachment.names();
    }

    // ---- bounds-checked accessors: the access must lie inside the data region ----

    /** The address of {@code offset} in this process; valid until {@link #close()}. */
    public long address(long offset) {
        return view.address(offset);
    }

    /** A view of the whole live block at {@code offset} ({@link #usableSize} bytes): see {@link HeapBlock}. */
    public HeapBlock block(long offset) {
        return HeapBlock.whole(view, offset, false);
    }

    /** A view of the first {@code length} bytes of the live block at {@code offset}, e.g. the size it was allocated with. */
    public HeapBlock block(long offset, long length) {
        return HeapBlock.of(view, offset, length, false);
    }

    public long getLong(long offset) {
        return view.getLong(offset);
    }

    public void putLong(long offset, long value) {
        view.memory().putLong(view.checkData(offset, Long.BYTES), value);
    }

    public long getLongVolatile(long offset) {
        return view.getLongVolatile(offset);
    }

    public void putLongRelease(long offset, long value) {
        view.memory().putLongRelease(view.checkData(offset, Long.BYTES), value);
    }

    public boolean compareAndSetLong(long offset, long expected, long value) {
        return view.memory().compareAndSetLong(view.checkData(offset, Long.BYTES), expected, value);
    }

    public int getInt(long offset) {
        return view.getInt(offset);
    }

    public void putInt(long offset, int value) {
        view.memory().putInt(view.checkData(offset, Integer.BYTES), value);
    }

    public byte getByte(long offset) {
        return view.getByte(offset);
    }

    public void putByte(long offset, byte value) {
        view.memory().putByte(view.checkData(offset, Byte.BYTES), value);
    }

    public void getBytes(long offset, byte[] dst, int dstIndex, int length) {
        view.getBytes(offset, dst, dstIndex, length);
    }

    public void putBytes(long offset, byte[] src, int srcIndex, int length) {
        view.memory().putBytes(view.checkData(offset, length), src, srcIndex, length);
    }

    /**
     * Shares every block this attachment still holds (a process that detaches cleanly leaves its
     * blocks to the heap), leaves the process table and unmaps the heap; the file stays.
     */
    @Override
    public void close() {
        if (!view.isClosed()) {
            attachment.close();
        }
    }

    @Override
    public String toString() {
        return "ShmHeap{" + view.path() + ", capacity=" + capacity() + "}";
    }
}
