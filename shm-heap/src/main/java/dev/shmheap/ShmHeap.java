package dev.shmheap;

import dev.shmheap.internal.alloc.DeadHolders;
import dev.shmheap.internal.alloc.HeapAllocator;
import dev.shmheap.internal.alloc.NonBlockDescription;
import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.holders.HolderTransitions;
import dev.shmheap.internal.holders.ProcessQuota;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.HolderMap;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.lock.HeapLocks;
import dev.shmheap.internal.lock.ProcessIdentity;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.memory.NativeIo;
import dev.shmheap.internal.names.NameDirectory;
import dev.shmheap.internal.observe.ConsistentReads;
import dev.shmheap.internal.pagemap.ExtentReservations;
import dev.shmheap.internal.pagemap.DataBounds;
import dev.shmheap.internal.pagemap.PageMap;
import dev.shmheap.internal.stats.HeapFigures;
import dev.shmheap.internal.verify.HeapVerifier;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;


/**
 * A heap in a memory-mapped file that several processes allocate from at once. Blocks are
 * named by their <em>offset</em> in the file, which means the same in every process; turn
 * one into an address with {@link #address(long)} only inside the process that uses it.
 *
 * <p>Small requests ({@code size <= C && alignment <= C} for C in 64..4096) come from slab
 * classes, larger ones from a buddy allocator; see the README for the policy details.
 * Instances are thread-safe; {@link #close()} must not race with other calls on the same
 * instance.
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
    /** What {@link #tryAllocate} returns when the heap cannot satisfy a request. */
    public static final long NO_SPACE = -1;
    /** The alignment {@link #allocate(long)} uses. */
    public static final long DEFAULT_ALIGNMENT = 8;
    /**
     * Races {@link #openOrCreate} may lose in a row (the file vanishing between a failed create
     * and the next open) before it gives up: each loss means another process deleted the heap
     * right after creating it, which only a pathological loop does.
     */
    private static final int OPEN_OR_CREATE_ATTEMPTS = 10;
    /** How long a read-only {@link #forEachBlock} tries for a consistent walk: a picture is worth little more. */
    private static final long PICTURE_WAIT_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);
    /** How long {@link #recover()} waits for each lock a live process holds. */
    private static final long RECLAIM_BEFORE_FULL_INTERVAL_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(1);
    private static final long RECOVER_LOCK_TIMEOUT_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);

    private final Path path;
    private final HeapLayout layout;
    private final MappedMemory memory;
    private final int fd;
    private final PageMap pages;
    private final HeapAllocator allocator;
    private final HeapLocks locks;
    private final HeapFigures figures;
    private final DataBounds bounds;
    private final ProcessTable processTable;
    private final NameDirectory names;
    private final DeadHolders deadHolders;
    private final HolderTransitions holders;
    /** This attachment's holder byte (0..255): what the holder map says of the blocks it holds. */
    private final int myHolder;
    private final ProcessQuota quota;
    private final long token = ProcessIdentity.current();
    private final int processSlot;
    private volatile boolean closed;
    /** When this attachment last reclaimed for a request that found no space (racy: a missed update costs one extra settle). */
    private long lastReclaimBeforeFull = System.nanoTime() - RECLAIM_BEFORE_FULL_INTERVAL_NANOS;
    /** Opened with {@link #openReadOnly}: the mapping is read-only and every mutating call throws. */
    private final boolean readOnly;
    /** Lock-free consistent reads, for read-only heaps and {@link #verify(java.time.Duration)}. */
    private final ConsistentReads consistentReads;

    private ShmHeap(Path path, HeapFiles.Mapping mapping, boolean readOnly) {
        this.path = path;
        this.layout = mapping.layout();
        this.memory = mapping.memory();
        this.fd = mapping.fd();
        this.pages = new PageMap(memory, layout, new ExtentReservations(memory, layout, fd));
        this.processTable = new ProcessTable(memory, layout.processTableOffset());
        this.names = new NameDirectory(memory, layout.nameDirectoryOffset());
        this.readOnly = readOnly;
        this.consistentReads = new ConsistentReads(memory, layout, path.toString());
        this.processSlot = readOnly ? -1 : register(memory, layout, pages, processTable, token, path.toString());
        this.allocator = new HeapAllocator(memory, layout, pages, token, processSlot, path.toString());
        this.locks = allocator.locks();
        this.figures = new HeapFigures(memory, layout, pages);
        this.bounds = new DataBounds(layout, pages.reservations(), path.toString());
        this.deadHolders = new DeadHolders(memory, layout, pages, processTable, allocator, processSlot);
        this.myHolder = HolderMap.ofSlot(processSlot) & 0xFF;
        this.holders = new HolderTransitions(memory, layout, pages, processTable, (byte) myHolder);
        this.quota = new ProcessQuota(memory, () -> figures.heldBytes(processSlot));
        if (!readOnly) {
            // dead processes' slots: free those that hold nothing, reclaim (RECLAIM_DEAD) or keep the rest
            deadHolders.settle(layout.reclaimDead(), false);
        }
    }

    /**
     * Claims a process-table slot. When none is free, the slots of dead processes that hold
     * nothing (or, in a RECLAIM_DEAD heap, whose blocks can be reclaimed) are settled first by
     * an attachment without a slot: a reclaimer killed between its take-over and free leaves the
     * block unattributed (kept, reported by verify) instead of held by a slot.
     */
    private static int register(MappedMemory memory, HeapLayout layout, PageMap pages, ProcessTable processTable, long token, String file) {
        try {
            return processTable.register(token);
        } catch (ShmHeapException full) {
            HeapAllocator slotless = new HeapAllocator(memory, layout, pages, token, -1, file);
            new DeadHolders(memory, layout, pages, processTable, slotless, -1).settle(layout.reclaimDead(), true);
            return processTable.register(token);
        }
    }

    /**
     * Creates a heap of {@code capacityBytes} data bytes (rounded up to 4 KiB pages, at least
     * 32 KiB, at most 1 TiB) in a new file and opens it. The file is a little larger than the
     * capacity: metadata takes 96 bytes per 4 KiB page (page map and holder map) plus 92 KiB, and the data region starts
     * at an aligned offset.
     *
     * @throws FileAlreadyExistsException if {@code file} exists
     * @throws IOException                if the file cannot be created or (without
     *                                    {@link CreateOption#SPARSE}) its space cannot be reserved
     * @throws IllegalArgumentException   if the capacity is out of range
     */
    public static ShmHeap create(Path file, long capacityBytes, CreateOption... options) throws IOException {
        EnumSet<CreateOption> set = EnumSet.noneOf(CreateOption.class);
        for (CreateOption option : options) {
            set.add(java.util.Objects.requireNonNull(option, "options must not contain null"));
        }
        HeapLayout layout = HeapLayout.forCapacity(capacityBytes, set.contains(CreateOption.SPARSE), set.contains(CreateOption.RECLAIM_DEAD));
        HeapFiles.create(file, layout, set.contains(CreateOption.GROUP_ACCESS));
        return open(file);
    }

    /**
     * Attaches to an existing heap, created by any process.
     *
     * @throws NoSuchFileException  if {@code file} does not exist
     * @throws HeapFormatException  if it is not a heap, is of another format version, is
     *                              truncated, or its header is corrupt
     */
    public static ShmHeap open(Path file) throws IOException {
        return attach(file, false);
    }

    /**
     * Attaches to an existing heap as an observer that only reads: read permission on the file
     * is enough, nothing is registered in the process table and no byte of the file changes.
     * It serves {@link #stats()}, {@link #verify()}, {@link #forEachBlock}, {@link #attachedProcesses()},
     * {@link #names()}, {@link #lookup}, {@link #usableSize} and the get accessors; every call that
     * would change the heap throws an {@link IllegalStateException} saying that it is open
     * read-only. Never store through an {@link #address(long)} of a read-only heap: the mapping
     * is read-only and the store would crash the JVM.
     *
     * <p>It takes no lock, so its {@code verify()} and {@code names()} wait until they have read
     * a moment in which no operation was in flight (see {@link #verify(java.time.Duration)}).
     *
     * @throws NoSuchFileException  if {@code file} does not exist
     * @throws HeapFormatException  as {@link #open}
     */
    public static ShmHeap openReadOnly(Path file) throws IOException {
        return attach(file, true);
    }

    private static ShmHeap attach(Path file, boolean readOnly) throws IOException {
        HeapFiles.Mapping mapping = HeapFiles.map(file, readOnly);
        try {
            return new ShmHeap(file, mapping, readOnly);
        } catch (RuntimeException e) {
            mapping.close();
            throw e;
        }
    }

    /** Whether this instance was opened with {@link #openReadOnly}. */
    public boolean isReadOnly() {
        return readOnly;
    }

    /**
     * Opens {@code file} if it exists, else creates it with {@code capacityBytes}. Safe when
     * many processes call it at once: exactly one creates the heap, all get the same heap.
     * An existing heap keeps its own capacity; see {@link #capacity()}.
     */
    public static ShmHeap openOrCreate(Path file, long capacityBytes, CreateOption... options) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                return open(file);
            } catch (NoSuchFileException e) {
                try {
                    return create(file, capacityBytes, options);
                } catch (FileAlreadyExistsException raced) {
                    if (attempt >= OPEN_OR_CREATE_ATTEMPTS) {
                        throw raced;
                    }
                    // Another process published it between our open and our link: open it.
                }
            }
        }
    }

    public Path path() {
        return path;
    }

    /** Bytes of the data region: what {@link HeapStats#totalBytes()} reports. */
    public long capacity() {
        return layout.capacity();
    }

    /**
     * File offset of the data region's first byte: every block offset lies in
     * {@code [dataOffset(), dataOffset() + capacity())}, and data page {@code p} of a
     * {@link Problem} starts at {@code dataOffset() + p * 4096}.
     */
    public long dataOffset() {
        return layout.dataOffset();
    }

    /** Length of the heap file: capacity plus metadata. */
    public long fileLength() {
        return layout.fileLength();
    }

    /** The largest block {@code allocate} can ever return. */
    public long largestBlockSize() {
        return layout.largestBlock();
    }

    /** The largest alignment {@code allocate} accepts: min(2 MiB, largest block). */
    public long maxAlignment() {
        return layout.maxAlignment();
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
     * @throws IllegalArgumentException if size is not positive or exceeds the largest block,
     *                                  or alignment is not a power of two or exceeds {@link #maxAlignment()}
     * @throws HeapFullException        if no free block is large enough now
     */
    public long allocate(long size, long alignment) {
        ensureWritable();
        allocator.checkRequest(size, alignment);
        // the fast path: one read of the quota word, then the allocator; the rest is out of line
        long offset = quota.limit() == 0 ? allocator.allocate(size, alignment) : allocateUnderQuota(size, alignment, true);
        return offset != NO_SPACE ? offset : allocateAfterNoSpace(size, alignment, true);
    }

    /**
     * Like {@link #allocate(long, long)} but returns {@link #NO_SPACE} instead of throwing when
     * the heap is full (or the process is at its quota), for hot paths that handle backpressure
     * themselves. Misuse still throws.
     */
    public long tryAllocate(long size, long alignment) {
        ensureWritable();
        allocator.checkRequest(size, alignment);
        long offset = quota.limit() == 0 ? allocator.allocate(size, alignment) : allocateUnderQuota(size, alignment, false);
        return offset != NO_SPACE ? offset : allocateAfterNoSpace(size, alignment, false);
    }

    /** While a quota is set: admit the request by the quota, then allocate. */
    private long allocateUnderQuota(long size, long alignment, boolean throwing) {
        long limit = quota.limit();
        long bytes = blockBytes(size, alignment);
        if (!quota.admit(bytes, limit)) {
            if (!throwing) {
                return NO_SPACE;
            }
            throw new HeapFullException("heap " + path + " cannot allocate size=" + size + " alignment=" + alignment
                    + ": this process would exceed the per-process quota of " + limit + " bytes (it holds " + quota.held() + " bytes)",
                    size, alignment, availableBytes());
        }
        long offset = allocator.allocate(size, alignment);
        if (offset == NO_SPACE) {
            quota.add(-bytes); // allocateAfterNoSpace admits it again
        }
        return offset;
    }

    /**
     * A request that found no space: a heap that reclaims the dead reclaims and tries once
     * more, so that a heap is never full because of processes that died; then
     * {@link HeapFullException} (or {@link #NO_SPACE}).
     */
    private long allocateAfterNoSpace(long size, long alignment, boolean throwing) {
        if (layout.reclaimDead() && reclaimBeforeFull()) {
            long offset = quota.limit() == 0 ? allocator.allocate(size, alignment) : allocateUnderQuota(size, alignment, throwing);
            if (offset != NO_SPACE) {
                return offset;
            }
        }
        if (!throwing) {
            return NO_SPACE;
        }
        String reason = pages.reservations().lastFailure();
        throw new HeapFullException("heap " + path + " cannot allocate size=" + size + " alignment=" + alignment + ": "
                + availableBytes() + " bytes available of " + layout.capacity() + ", largest free block "
                + figures.largestListedBlock() + (reason == null || !layout.sparse() ? "" : "; " + reason),
                size, alignment, availableBytes());
    }

    /**
     * Reclaims the dead's blocks for a request that found no space; true if it freed any. At
     * most once a millisecond per attachment: a producer spinning on a full heap would
     * otherwise ask the kernel about every attached process on every try.
     */
    private boolean reclaimBeforeFull() {
        long now = System.nanoTime();
        if (now - lastReclaimBeforeFull < RECLAIM_BEFORE_FULL_INTERVAL_NANOS) {
            return false;
        }
        lastReclaimBeforeFull = now;
        return deadHolders.settle(true, false).reclaimedBlocks() > 0;
    }

    private static long blockBytes(long size, long alignment) {
        int c = SizeClasses.classFor(size, alignment);
        return c >= 0 ? SizeClasses.blockSize(c)
                : BuddyAllocator.blockBytes(BuddyAllocator.orderFor(Math.max(size, alignment)));
    }

    /**
     * Frees the block at {@code offset}, whichever process allocated it; its size is known from
     * the heap's metadata.
     *
     * @throws IllegalArgumentException naming the offset if it is outside the data region, not
     *                                  the start of a block, or not allocated (double free); the
     *                                  heap is unchanged then
     */
    public void free(long offset) {
        ensureWritable();
        bounds.checkInData(offset);
        if (quota.limit() != 0) {
            freeUnderQuota(offset);
        } else if (allocator.free(offset) != HeapAllocator.FREED) {
            throw new IllegalArgumentException(describeNonBlock(offset));
        }
    }

    /** While a quota is set: a free of one of this process's blocks lowers its estimate. */
    private void freeUnderQuota(long offset) {
        long held = heldByMe(offset);
        if (allocator.free(offset) != HeapAllocator.FREED) {
            throw new IllegalArgumentException(describeNonBlock(offset));
        }
        quota.add(-held);
    }

    /** The size of the live block at {@code offset} if this process holds it, else 0 (for the quota's estimate). */
    private long heldByMe(long offset) {
        return holders.holderOf(offset) == myHolder ? pages.liveBlockSize(offset) : 0;
    }

    // ---- who holds a block: share, hand off, take over, reclaim ----

    /**
     * Gives the live block at {@code offset} to the heap: no process holds it any more, so it
     * is never reclaimed when a process dies; only an explicit {@link #free} ends it. A block
     * belongs to the process that allocated it until that process frees, shares or hands it
     * off; in a heap created with {@link CreateOption#RECLAIM_DEAD} the blocks a dead process
     * still holds are freed. {@link #bind} shares the block it names. Sharing a shared block
     * does nothing.
     *
     * @throws IllegalArgumentException naming the offset if no live block starts there
     */
    public void share(long offset) {
        giveUp(offset, HolderMap.SHARED);
    }

    /**
     * Passes the live block at {@code offset} on to whoever will {@link #takeOver} it, typically
     * the receiver of a message: until then no process holds it and it is never reclaimed. A
     * channel's sender calls this before it publishes the offset.
     *
     * @throws IllegalArgumentException naming the offset if no live block starts there
     * @throws IllegalStateException    if the block is shared
     */
    public void handOff(long offset) {
        giveUp(offset, HolderMap.HANDED_OFF);
    }

    /** {@link #share} or {@link #handOff}: the block's holder becomes {@code target}. */
    private void giveUp(long offset, byte target) {
        ensureWritable();
        bounds.checkInData(offset);
        long held = quota.limit() != 0 ? heldByMe(offset) : 0;
        if (holders.shareOrHandOff(offset, target, path.toString()) == HolderTransitions.NOT_LIVE) {
            throw new IllegalArgumentException(describeNonBlock(offset));
        }
        quota.add(-held);
    }

    /**
     * Makes this process the holder of the live block at {@code offset}, which was handed off
     * (or was held by a process that no longer runs): if this process dies before it frees,
     * shares or hands the block off, the block is reclaimed (in a {@code RECLAIM_DEAD} heap).
     * Taking over a block this process holds does nothing.
     *
     * @throws IllegalArgumentException naming the offset if no live block starts there
     * @throws IllegalStateException    if the block is shared, or a live process holds it
     */
    public void takeOver(long offset) {
        ensureWritable();
        bounds.checkInData(offset);
        int before = holders.takeOver(offset, path.toString());
        if (before == HolderTransitions.NOT_LIVE) {
            throw new IllegalArgumentException(describeNonBlock(offset));
        }
        if (before != myHolder && quota.limit() != 0) {
            quota.add(pages.liveBlockSize(offset));
        }
    }

    /**
     * Frees every block held by a process that no longer runs, whether or not the heap was
     * created with {@link CreateOption#RECLAIM_DEAD}, and frees their process-table slots.
     * Shared and handed-off blocks and blocks of live processes are untouched. Safe while
     * other processes use the heap.
     */
    public RecoveryReport reclaimDead() {
        ensureWritable();
        DeadHolders.Outcome outcome = deadHolders.settle(true, true);
        return new RecoveryReport(0, outcome.slotsFreed(), 0, outcome.reclaimedBlocks(), outcome.reclaimedBytes(), outcome.kept());
    }

    /**
     * Sets the per-process quota: from now on no process may hold more than {@code bytes}
     * (blocks it allocated or took over and has not freed, shared or handed off); a request
     * beyond it fails with {@link HeapFullException} naming the quota. 0 removes the quota. It
     * is stored in the heap, so it applies to every process attached to it.
     *
     * @throws IllegalArgumentException if {@code bytes} is negative
     */
    public void setProcessQuota(long bytes) {
        ensureWritable();
        if (bytes < 0) {
            throw new IllegalArgumentException("process quota " + bytes + " must be 0 (none) or positive");
        }
        quota.setLimit(bytes);
    }

    /**
     * Whether the heap was created with {@link CreateOption#RECLAIM_DEAD}: blocks of processes
     * that no longer run are freed at open, by {@link #recover()} and before a heap-full error.
     */
    public boolean reclaimsDead() {
        ensureOpen();
        return layout.reclaimDead();
    }

    /** The per-process quota in bytes, 0 when none is set. */
    public long processQuota() {
        ensureOpen();
        return quota.limit();
    }

    /** Who holds the live blocks, per process (see {@link Holdings}); one walk of the page map. */
    public Holdings holdings() {
        ensureOpen();
        return figures.holdings();
    }

    /**
     * The usable size of the live block at {@code offset} (the slab block size or the buddy
     * block size, at least what was requested).
     *
     * @throws IllegalArgumentException if {@code offset} is not the start of a live block
     */
    public long usableSize(long offset) {
        ensureOpen();
        bounds.checkInData(offset);
        long size = pages.liveBlockSize(offset);
        if (size < 0) {
            throw new IllegalArgumentException(describeNonBlock(offset));
        }
        return size;
    }


    private String describeNonBlock(long offset) {
        return NonBlockDescription.of(offset, pages, layout) + " (heap " + path + ")";
    }

    /**
     * Returns every empty slab set to the buddy allocator and merges every pair of free buddy
     * blocks (both done automatically when a request cannot be met otherwise); returns the
     * number of bytes the slab classes released.
     */
    public long trim() {
        ensureWritable();
        return allocator.trim();
    }

    /** Heap-wide statistics from the shared counters, read without locks. */
    public HeapStats stats() {
        ensureOpen();
        return figures.stats(processTable.entries().size());
    }

    private long availableBytes() {
        return stats().availableBytes();
    }

    /** The processes registered in the heap's process table. */
    public List<AttachedProcess> attachedProcesses() {
        ensureOpen();
        return processTable.entries();
    }

    /**
     * Walks all metadata and checks the invariants: the page map partitions the data region
     * into valid blocks, the free lists and partial-set lists hold exactly the blocks the page
     * map says, and every counter agrees with a recount. Holds every lock while it runs (a lock
     * held by a dead process is reported, not taken over), so the report is of one moment. On a
     * {@linkplain #openReadOnly read-only} heap it takes no lock and waits as
     * {@link #verify(java.time.Duration)} does, without a limit.
     */
    public VerifyReport verify() {
        ensureOpen();
        if (readOnly) {
            return verify(java.time.Duration.ofNanos(Long.MAX_VALUE));
        }
        return verifier().verify();
    }

    /**
     * The checks of {@link #verify()} without taking any lock or writing any byte: it walks
     * the heap again until one walk saw a moment in which no live process held a lock and no
     * operation completed, and reports a problem only when two such walks agree, so an
     * operation in flight is never reported as a problem. Waits at most {@code timeout}.
     *
     * @throws HeapBusyException if no consistent walk was possible within {@code timeout},
     *                           naming the live lock holder or how often the heap changed
     */
    public VerifyReport verify(java.time.Duration timeout) {
        ensureOpen();
        long nanos = timeout.isNegative() ? 0 : saturatedNanos(timeout);
        return consistentReads.read(() -> verifier().verifyUnlocked(), report -> !report.ok(), nanos).value();
    }

    private HeapVerifier verifier() {
        return new HeapVerifier(memory, layout, pages, processTable, names, token, path.toString());
    }

    private static long saturatedNanos(java.time.Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * Visits every block of the data region in address order: free and used buddy blocks and
     * slab sets. Reads the page map without locks, so on a heap that other processes are
     * changing it is a picture of a moving target; parts it cannot read as blocks are skipped.
     * A {@linkplain #openReadOnly read-only} heap first tries for up to a second to walk a
     * moment in which no operation was in flight (as {@link #verify(java.time.Duration)} does),
     * then visits what one walk reads.
     */
    public void forEachBlock(java.util.function.Consumer<BlockInfo> visitor) {
        ensureOpen();
        if (!readOnly) {
            figures.forEachBlock(visitor);
            return;
        }
        // No lock to wait for: try for a walk no operation touched, else show a moving target as a writer would.
        List<BlockInfo> blocks;
        try {
            blocks = consistentReads.read(() -> {
                List<BlockInfo> list = new java.util.ArrayList<>();
                figures.forEachBlock(list::add);
                return list;
            }, list -> false, PICTURE_WAIT_NANOS).value();
        } catch (HeapBusyException e) {
            blocks = new java.util.ArrayList<>();
            figures.forEachBlock(blocks::add);
        }
        blocks.forEach(visitor);
    }

    /**
     * Repairs the heap after processes died in it: takes over every lock a dead process holds,
     * rebuilds all free lists, partial-set lists and counters from the page map, and removes
     * dead processes from the process table. Safe while other live processes use the heap
     * (it takes every lock), but refuses if a live process holds a lock for more than a second.
     *
     * @throws IllegalStateException naming the lock and its live owner in that case
     */
    public RecoveryReport recover() {
        ensureWritable();
        RecoveryReport repaired = allocator.recover(RECOVER_LOCK_TIMEOUT_NANOS, path.toString());
        DeadHolders.Outcome outcome = deadHolders.settle(layout.reclaimDead(), true);
        return new RecoveryReport(repaired.locksTakenOver(), outcome.slotsFreed(), repaired.freeBlocksRelinked(), outcome.reclaimedBlocks(),
                outcome.reclaimedBytes(), outcome.kept());
    }

    // ---- name directory: rendezvous by name ----

    /**
     * Binds {@code name} (1 to 47 UTF-8 bytes) to the live block at {@code offset}, so that other
     * processes can {@link #lookup} it. Unbind a name before freeing its block.
     *
     * @throws IllegalArgumentException if the name is empty or too long, or the offset is not a live block
     * @throws IllegalStateException    if the name is already bound
     * @throws ShmHeapException         if all 256 entries are in use
     */
    public void bind(String name, long offset) {
        ensureWritable();
        byte[] bytes = NameDirectory.encode(name);
        share(offset);
        locks.inNames(() -> {
            names.bind(bytes, name, offset);
            return null;
        });
    }

    /** The offset bound to {@code name}, if any. */
    public java.util.OptionalLong lookup(String name) {
        ensureOpen();
        byte[] bytes = NameDirectory.encode(name);
        if (readOnly) {
            return consistentReads.read(() -> names.lookup(bytes), found -> false, Long.MAX_VALUE).value();
        }
        return locks.inNames(() -> names.lookup(bytes));
    }

    /**
     * Removes the binding of {@code name} and returns the offset it named.
     *
     * @throws IllegalArgumentException if the name is invalid or not bound
     */
    public long unbind(String name) {
        ensureWritable();
        byte[] bytes = NameDirectory.encode(name);
        return locks.inNames(() -> names.unbind(bytes))
                .orElseThrow(() -> new IllegalArgumentException("name '" + name + "' is not bound in heap " + path));
    }

    /** Every bound name and its offset. */
    public java.util.Map<String, Long> names() {
        ensureOpen();
        if (readOnly) {
            return consistentReads.read(names::entries, entries -> false, Long.MAX_VALUE).value();
        }
        return locks.inNames(names::entries);
    }

    // ---- bounds-checked accessors: the access must lie inside the data region ----

    /** The address of {@code offset} in this process; valid until {@link #close()}. */
    public long address(long offset) {
        ensureOpen();
        bounds.checkInData(offset);
        return memory.baseAddress() + offset;
    }

    /** A view of the whole live block at {@code offset} ({@link #usableSize} bytes): see {@link HeapBlock}. */
    public HeapBlock block(long offset) {
        return HeapBlock.of(this, memory, offset, usableSize(offset));
    }

    /** A view of the first {@code length} bytes of the live block at {@code offset}, e.g. the size it was allocated with. */
    public HeapBlock block(long offset, long length) {
        return HeapBlock.of(this, memory, offset, length);
    }

    public long getLong(long offset) {
        return memory.getLong(checkData(offset, Long.BYTES));
    }

    public void putLong(long offset, long value) {
        memory.putLong(checkWritableData(offset, Long.BYTES), value);
    }

    public long getLongVolatile(long offset) {
        return memory.getLongVolatile(checkData(offset, Long.BYTES));
    }

    public void putLongRelease(long offset, long value) {
        memory.putLongRelease(checkWritableData(offset, Long.BYTES), value);
    }

    public boolean compareAndSetLong(long offset, long expected, long value) {
        return memory.compareAndSetLong(checkWritableData(offset, Long.BYTES), expected, value);
    }

    public int getInt(long offset) {
        return memory.getInt(checkData(offset, Integer.BYTES));
    }

    public void putInt(long offset, int value) {
        memory.putInt(checkWritableData(offset, Integer.BYTES), value);
    }

    public byte getByte(long offset) {
        return memory.getByte(checkData(offset, 1));
    }

    public void putByte(long offset, byte value) {
        memory.putByte(checkWritableData(offset, 1), value);
    }

    public void getBytes(long offset, byte[] dst, int dstIndex, int length) {
        memory.getBytes(checkData(offset, length), dst, dstIndex, length);
    }

    public void putBytes(long offset, byte[] src, int srcIndex, int length) {
        memory.putBytes(checkWritableData(offset, length), src, srcIndex, length);
    }

    private long checkWritableData(long offset, long length) {
        if (readOnly) {
            throw readOnlyError();
        }
        return checkData(offset, length);
    }

    private long checkData(long offset, long length) {
        if (closed) {
            throw closedError();
        }
        return bounds.check(offset, length);
    }

    private void ensureOpen() {
        if (closed) {
            throw closedError();
        }
    }

    /** For every call that changes the heap: it must be open, and not read-only. */
    private void ensureWritable() {
        if (closed || readOnly) {
            throw closed ? closedError() : readOnlyError();
        }
    }

    private IllegalStateException readOnlyError() {
        return new IllegalStateException("heap " + path + " is open read-only");
    }

    private IllegalStateException closedError() {
        return new IllegalStateException("heap " + path + " is closed");
    }

    /**
     * Shares every block this attachment still holds (see {@link #share}: a process that
     * detaches cleanly leaves its blocks to the heap, where only an explicit free ends them),
     * leaves the process table and unmaps the heap; the file stays for other processes.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!readOnly) {
            allocator.close(); // owned sets go back to the shared lists before the slot is freed
            // A slot's number names its blocks' holder: what this attachment still holds becomes the heap's
            // before the slot is freed (a process killed instead of closing keeps its blocks until reclaimed).
            holders.shareAllOfMine();
            processTable.deregister(processSlot, token);
        }
        memory.close();
        if (fd >= 0) {
            NativeIo.closeQuietly(fd);
        }
    }

    @Override
    public String toString() {
        return "ShmHeap{" + path + ", capacity=" + layout.capacity() + "}";
    }
}
