package dev.shmheap;

import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.lock.ProcessIdentity;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.lock.SpinLock;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.memory.NativeIo;
import dev.shmheap.internal.names.NameDirectory;
import dev.shmheap.internal.observe.ConsistentReads;
import dev.shmheap.internal.observe.ReadOnlyMapping;
import dev.shmheap.internal.pagemap.ExtentReservations;
import dev.shmheap.internal.pagemap.PageMap;
import dev.shmheap.internal.slab.SetSource;
import dev.shmheap.internal.slab.SlabAllocator;
import dev.shmheap.internal.verify.HeapVerifier;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

import static dev.shmheap.internal.layout.HeaderDescriptor.*;

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

    private final Path path;
    private final HeapLayout layout;
    private final MappedMemory memory;
    private final int fd;
    private final PageMap pages;
    private final BuddyAllocator buddy;
    private final SlabAllocator slab;
    private final ProcessTable processTable;
    private final NameDirectory names;
    private final long token = ProcessIdentity.current();
    private final int processSlot;
    private final String buddyLockName;
    private final String nameLockName;
    /** Indexed by {@link #lockIndex}. */
    private final String[] classLockNames = new String[SizeClasses.COUNT * CLASS_STRIPES];
    /**
     * The class stripe this attachment allocates from, per class: first its process-table
     * slot's parity, then whichever stripe it last found unlocked (see {@link #allocateSlab}).
     * Threads sharing the attachment may race on it; any value is a valid stripe.
     */
    private final int[] preferredStripe = new int[SizeClasses.COUNT];
    /** {@code layout.classStripes()}: 1 below 32 MiB, else 2. */
    private final int stripes;
    /** When this attachment last asked whether the holder of a stripe it moved away from runs. */
    private long lastAbandonedCheck = System.nanoTime() - ABANDONED_CHECK_NANOS;
    private static final long ABANDONED_CHECK_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(1);
    private volatile boolean closed;
    /** Opened with {@link #openReadOnly}: the mapping is read-only and every mutating call throws. */
    private final boolean readOnly;
    /** Lock-free consistent reads, for read-only heaps and {@link #verify(java.time.Duration)}. */
    private final ConsistentReads consistentReads;

    private ShmHeap(Path path, HeapLayout layout, MappedMemory memory, int fd, boolean readOnly) {
        this.path = path;
        this.layout = layout;
        this.memory = memory;
        this.fd = fd;
        this.pages = new PageMap(memory, layout, new ExtentReservations(memory, layout, fd));
        this.buddy = new BuddyAllocator(memory, layout, pages);
        this.slab = new SlabAllocator(memory, layout, pages, new BuddySetSource());
        this.processTable = new ProcessTable(memory, layout.processTableOffset());
        this.names = new NameDirectory(memory, layout.nameDirectoryOffset());
        this.buddyLockName = "buddy lock of " + path;
        this.nameLockName = "name-directory lock of " + path;
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            for (int s = 0; s < CLASS_STRIPES; s++) {
                classLockNames[lockIndex(c, s)] = "lock of class " + SizeClasses.blockSize(c) + " stripe " + s + " of " + path;
            }
        }
        this.readOnly = readOnly;
        this.consistentReads = new ConsistentReads(memory, layout, path.toString());
        this.processSlot = readOnly ? -1 : processTable.register(token);
        this.stripes = layout.classStripes();
        java.util.Arrays.fill(preferredStripe, Math.max(processSlot, 0) % stripes);
    }

    /**
     * Creates a heap of {@code capacityBytes} data bytes (rounded up to 4 KiB pages, at least
     * 32 KiB, at most 1 TiB) in a new file and opens it. The file is a little larger than the
     * capacity: metadata takes 16 bytes per 4 KiB page plus 28 KiB, and the data region starts
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
        HeapLayout layout = HeapLayout.forCapacity(capacityBytes, set.contains(CreateOption.SPARSE));
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
        String name = file.toString();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = channel.size();
            ByteBuffer header = ByteBuffer.allocate(HeaderDescriptor.HEADER_LENGTH);
            while (header.hasRemaining() && channel.read(header, header.position()) > 0) {
                // read until the header is complete or the file ends
            }
            HeapLayout layout = HeapLayout.read(header.clear(), size, name);
            NativeIo.load();
            MappedMemory memory = MappedMemory.map(channel, layout.fileLength());
            int fd = -1;
            try {
                fd = layout.sparse() ? NativeIo.openReadWrite(file.toString()) : -1;
                return new ShmHeap(file, layout, memory, fd, false);
            } catch (RuntimeException e) {
                memory.close();
                if (fd >= 0) {
                    NativeIo.closeQuietly(fd);
                }
                throw e;
            }
        }
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
        ReadOnlyMapping.Mapped mapped = ReadOnlyMapping.map(file);
        try {
            return new ShmHeap(file, mapped.layout(), mapped.memory(), -1, true);
        } catch (RuntimeException e) {
            mapped.memory().close();
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
                    if (attempt >= 10) {
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
        long offset = tryAllocate(size, alignment);
        if (offset == NO_SPACE) {
            String reason = pages.reservations().lastFailure();
            throw new HeapFullException("heap " + path + " cannot allocate size=" + size + " alignment=" + alignment + ": "
                    + availableBytes() + " bytes available of " + layout.capacity() + ", largest free block "
                    + largestFreeBlock() + (reason == null || !layout.sparse() ? "" : "; " + reason),
                    size, alignment, availableBytes());
        }
        return offset;
    }

    /**
     * Like {@link #allocate(long, long)} but returns {@link #NO_SPACE} instead of throwing when
     * the heap is full, for hot paths that handle backpressure themselves. Misuse still throws.
     */
    public long tryAllocate(long size, long alignment) {
        ensureWritable();
        checkRequest(size, alignment);
        int c = SizeClasses.classFor(size, alignment);
        long offset = c >= 0 ? allocateSlab(c) : allocateBuddy(BuddyAllocator.orderFor(Math.max(size, alignment)));
        if (offset != NO_SPACE) {
            return offset;
        }
        boolean setCanFit = c < 0 || SizeClasses.setOrder(c) <= layout.maxOrder();
        if (!setCanFit) {
            // A set of this class can never fit this heap, so releasing other classes' empty
            // sets for it would only make them bounce: serve the block from a page first.
            offset = allocateBuddy(0);
            if (offset != NO_SPACE) {
                return offset;
            }
        }
        if (releaseEmptySets() > 0) {
            offset = !setCanFit ? allocateBuddy(0)
                    : c >= 0 ? allocateSlab(c) : allocateBuddy(BuddyAllocator.orderFor(Math.max(size, alignment)));
        }
        if (offset == NO_SPACE && c > 0 && setCanFit) {
            // No room for a whole set of this class: serve the block from one buddy page.
            offset = allocateBuddy(0);
        }
        return offset;
    }

    private void checkRequest(long size, long alignment) {
        if (size > 0 && size <= SizeClasses.MAX_BLOCK && alignment == DEFAULT_ALIGNMENT) {
            return; // the common request, valid in every heap: the rest stays out of the inlined path
        }
        checkUncommonRequest(size, alignment);
    }

    private void checkUncommonRequest(long size, long alignment) {
        if (size <= 0) {
            throw new IllegalArgumentException("size=" + size + " must be positive");
        }
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0) {
            throw new IllegalArgumentException("alignment=" + alignment + " must be a power of two");
        }
        if (alignment > layout.maxAlignment()) {
            throw new IllegalArgumentException("alignment=" + alignment + " exceeds the largest alignment " + layout.maxAlignment()
                    + " of heap " + path);
        }
        if (size > layout.largestBlock()) {
            throw new IllegalArgumentException("size=" + size + " exceeds the largest block " + layout.largestBlock() + " of heap " + path);
        }
    }

    /**
     * Allocates from the preferred stripe of class {@code c}; if another process holds that
     * stripe's lock and the other stripe's is free, from the other one, which becomes the
     * preferred: two processes hammering one class settle on different stripes and stop
     * taking turns on one lock (frees go to the block's own stripe whoever frees it).
     */
    private long allocateSlab(int c) {
        int s = preferredStripe[c];
        if (stripes == 1) {
            lockClass(c, s);
            return allocateSlabLocked(c, s);
        }
        if (SpinLock.tryAcquire(memory, classOffset(c, s, CLASS_LOCK), token)) {
            return allocateSlabLocked(c, s); // a try-lock succeeds only from free, never from a dead owner
        }
        int other = s ^ 1;
        if (SpinLock.tryAcquire(memory, classOffset(c, other, CLASS_LOCK), token)) {
            preferredStripe[c] = other;
            long offset = allocateSlabLocked(c, other);
            repairIfAbandoned(c, s);
            return offset;
        }
        lockClass(c, s);
        return allocateSlabLocked(c, s);
    }

    /**
     * A stripe left because its lock was taken may have been left by a process that died
     * holding it: nobody else might ever wait on it long enough to find out (they move to the
     * other stripe too). At most once a millisecond, a move asks whether the holder runs and,
     * if not, takes the lock over, which repairs the stripe.
     */
    private void repairIfAbandoned(int c, int s) {
        long now = System.nanoTime();
        if (now - lastAbandonedCheck < ABANDONED_CHECK_NANOS) {
            return;
        }
        lastAbandonedCheck = now;
        long owner = memory.getLongVolatile(classOffset(c, s, CLASS_LOCK));
        if (owner != 0 && owner != token && !ProcessIdentity.isAlive(owner)) {
            lockClass(c, s);
            unlockClass(c, s, true);
        }
    }

    /** Allocates from stripe {@code s} of class {@code c}, whose lock the caller took; releases it. */
    private long allocateSlabLocked(int c, int s) {
        boolean consistent = false;
        try {
            long offset = slab.allocate(c, s);
            consistent = true;
            return offset == SlabAllocator.NO_BLOCK ? NO_SPACE : offset;
        } finally {
            unlockClass(c, s, consistent);
        }
    }

    private long allocateBuddy(int order) {
        lockBuddy();
        boolean consistent = false;
        try {
            long page = buddy.allocate(order, token);
            consistent = true;
            return page == BuddyAllocator.NO_BLOCK ? NO_SPACE : layout.pageOffset(page);
        } finally {
            unlockBuddy(consistent);
        }
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
        checkInData(offset);
        long page = layout.pageOf(offset);
        long entry = pages.entry(page);
        for (int attempt = 0; attempt < 8; attempt++) {
            long word0 = entry < 0 ? 0 : pages.word0At(entry);
            int kind = PageMapEntry.kind(word0);
            if ((kind == PageMapEntry.SLAB || kind == PageMapEntry.SLAB_PAGE) && PageMapEntry.sizeClass(word0) < SizeClasses.COUNT) {
                int c = PageMapEntry.sizeClass(word0);
                int s = PageMapEntry.stripe(word0);
                int result;
                lockClass(c, s);
                boolean consistent = false;
                try {
                    result = slab.free(c, s, offset, entry);
                    consistent = true;
                } finally {
                    unlockClass(c, s, consistent);
                }
                if (result == SlabAllocator.FREED) {
                    return;
                }
                if (result == SlabAllocator.NOT_LIVE) {
                    break;
                }
            } else if (kind == PageMapEntry.USED && offset == layout.pageOffset(page)) {
                lockBuddy();
                boolean consistent = false;
                boolean freed = false;
                try {
                    if (PageMapEntry.kind(pages.word0(page)) == PageMapEntry.USED) {
                        buddy.free(page);
                        freed = true;
                    }
                    consistent = true;
                } finally {
                    unlockBuddy(consistent);
                }
                if (freed) {
                    return;
                }
            } else {
                break;
            }
        }
        throw new IllegalArgumentException(describeNonBlock(offset));
    }

    /**
     * The usable size of the live block at {@code offset} (the slab block size or the buddy
     * block size, at least what was requested).
     *
     * @throws IllegalArgumentException if {@code offset} is not the start of a live block
     */
    public long usableSize(long offset) {
        ensureOpen();
        checkInData(offset);
        long size = pages.liveBlockSize(offset);
        if (size < 0) {
            throw new IllegalArgumentException(describeNonBlock(offset));
        }
        return size;
    }


    /** Says what lies at {@code offset} when it is not the start of a live block. */
    private String describeNonBlock(long offset) {
        long page = layout.pageOf(offset);
        for (int order = 0; order <= layout.maxOrder(); order++) {
            long head = page & -(1L << order);
            long word0 = pages.word0(head);
            int kind = PageMapEntry.kind(word0);
            if (kind == PageMapEntry.NONE || kind == PageMapEntry.SLAB_PAGE || PageMapEntry.order(word0) < order) {
                continue;
            }
            long start = layout.pageOffset(head);
            long bytes = BuddyAllocator.blockBytes(PageMapEntry.order(word0));
            return switch (kind) {
                case PageMapEntry.FREE -> "offset " + offset + " lies in the free " + bytes + "-byte block at offset " + start
                        + ": double free, or never allocated";
                case PageMapEntry.USED -> "offset " + offset + " is " + (offset - start) + " bytes into the " + bytes
                        + "-byte block at offset " + start + ": free takes the offset allocate returned";
                case PageMapEntry.SLAB -> describeInSet(offset, head, word0);
                default -> "offset " + offset + " lies in a block whose page-map entry is corrupt: " + PageMapEntry.toString(word0);
            };
        }
        return "offset " + offset + " is not in any block: the page map around page " + page + " is corrupt";
    }

    private String describeInSet(long offset, long setPage, long word0) {
        long blockSize = SizeClasses.blockSize(PageMapEntry.sizeClass(word0));
        long within = offset - layout.pageOffset(setPage);
        long blockStart = offset - within % blockSize;
        if (within % blockSize != 0) {
            return "offset " + offset + " is " + (within % blockSize) + " bytes into the " + blockSize + "-byte slab block at offset "
                    + blockStart + ": free takes the offset allocate returned";
        }
        return "offset " + offset + " is a free " + blockSize + "-byte slab block: double free, or never allocated";
    }

    /**
     * Returns every empty slab set to the buddy allocator (done automatically when a request
     * cannot be met otherwise) and returns the number of bytes released.
     */
    public long trim() {
        ensureWritable();
        return releaseEmptySets();
    }

    private long releaseEmptySets() {
        long released = 0;
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            for (int s = 0; s < stripes; s++) {
                lockClass(c, s);
                boolean consistent = false;
                try {
                    released += slab.releaseEmptySets(c, s);
                    consistent = true;
                } finally {
                    unlockClass(c, s, consistent);
                }
            }
        }
        return released;
    }

    private long sumOverStripes(int c, int field) {
        long sum = 0;
        for (int s = 0; s < stripes; s++) {
            sum += memory.getLongVolatile(classOffset(c, s, field));
        }
        return sum;
    }

    /** Heap-wide statistics from the shared counters. */
    public HeapStats stats() {
        ensureOpen();
        List<SizeClassStats> classes = new ArrayList<>(SizeClasses.COUNT);
        long slabUsed = 0;
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            long sets = sumOverStripes(c, CLASS_SET_COUNT);
            long used = sumOverStripes(c, CLASS_USED_BLOCKS);
            classes.add(new SizeClassStats(SizeClasses.blockSize(c), sets, sets * SizeClasses.SET_SIZE, used,
                    sumOverStripes(c, CLASS_ALLOCATIONS), sumOverStripes(c, CLASS_FREES)));
            slabUsed += used * SizeClasses.blockSize(c);
        }
        long buddyFree = memory.getLongVolatile(BUDDY_FREE_BYTES_OFFSET);
        long setBytes = memory.getLongVolatile(BUDDY_SET_BYTES_OFFSET);
        long buddyUsed = memory.getLongVolatile(BUDDY_ALLOCATED_BYTES_OFFSET) - setBytes;
        long[] freeBlocks = new long[layout.maxOrder() + 1];
        for (int order = 0; order < freeBlocks.length; order++) {
            freeBlocks[order] = memory.getLongVolatile(freeCountOffset(order));
        }
        long used = slabUsed + buddyUsed;
        return new HeapStats(layout.capacity(), used, layout.capacity() - used, buddyFree, buddyUsed, largestFreeBlock(), freeBlocks,
                memory.getLongVolatile(BUDDY_ALLOCATIONS_OFFSET), memory.getLongVolatile(BUDDY_FREES_OFFSET), classes,
                processTable.entries().size());
    }

    private long availableBytes() {
        return stats().availableBytes();
    }

    private long largestFreeBlock() {
        for (int order = layout.maxOrder(); order >= 0; order--) {
            if (memory.getLongVolatile(freeListHeadOffset(order)) != 0) {
                return BuddyAllocator.blockBytes(order);
            }
        }
        return 0;
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
     * held by a dead process is reported, not taken over), so the report is of one moment. On a {@linkplain #openReadOnly read-only} heap it takes no lock and waits as
     * {@link #verify(java.time.Duration)} does, without a limit.
     */
    public VerifyReport verify() {
        ensureOpen();
        if (readOnly) {
            return verify(java.time.Duration.ofNanos(Long.MAX_VALUE));
        }
        return new HeapVerifier(memory, layout, pages, processTable, names, token, path.toString()).verify();
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
        return consistentReads.read(() -> new HeapVerifier(memory, layout, pages, processTable, names, token, path.toString()).verifyUnlocked(),
                report -> !report.ok(), nanos).value();
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
        if (readOnly) {
            // No lock to wait for: try for a walk no operation touched, else show a moving target as a writer would.
            List<BlockInfo> blocks;
            try {
                blocks = consistentReads.read(() -> {
                    List<BlockInfo> list = new ArrayList<>();
                    walkBlocks(list::add);
                    return list;
                }, list -> false, PICTURE_WAIT_NANOS).value();
            } catch (HeapBusyException e) {
                blocks = new ArrayList<>();
                walkBlocks(blocks::add);
            }
            blocks.forEach(visitor);
            return;
        }
        walkBlocks(visitor);
    }

    /** How long a read-only {@link #forEachBlock} tries for a consistent walk: a picture is worth little more. */
    private static final long PICTURE_WAIT_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);

    private void walkBlocks(java.util.function.Consumer<BlockInfo> visitor) {
        dev.shmheap.internal.pagemap.PageMapWalker.walk(pages, layout, (page, word0, word1) -> {
            long offset = layout.pageOffset(page);
            long length = BuddyAllocator.blockBytes(PageMapEntry.order(word0));
            visitor.accept(switch (PageMapEntry.kind(word0)) {
                case PageMapEntry.FREE -> new BlockInfo(offset, length, BlockInfo.Kind.FREE, 0, 0);
                case PageMapEntry.USED -> new BlockInfo(offset, length, BlockInfo.Kind.USED, 0, 0);
                default -> new BlockInfo(offset, length, BlockInfo.Kind.SLAB_SET, SizeClasses.blockSize(PageMapEntry.sizeClass(word0)),
                        Long.bitCount(word1));
            });
            return true;
        }, problem -> { });
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
        // every class stripe lock in (class, stripe) order, then the buddy lock: the order of nesting
        int classLocks = SizeClasses.COUNT * stripes;
        long[] lockOffsets = new long[classLocks + 1];
        String[] names = new String[classLocks + 1];
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            for (int s = 0; s < stripes; s++) {
                lockOffsets[c * stripes + s] = classOffset(c, s, CLASS_LOCK);
                names[c * stripes + s] = classLockNames[lockIndex(c, s)];
            }
        }
        lockOffsets[classLocks] = BUDDY_LOCK_OFFSET;
        names[classLocks] = buddyLockName;
        int held = 0;
        int takenOver = 0;
        boolean consistent = true;
        try {
            for (; held < lockOffsets.length; held++) {
                SpinLock.Acquired acquired = SpinLock.acquireWithin(memory, lockOffsets[held], token, names[held],
                        java.util.concurrent.TimeUnit.SECONDS.toNanos(1));
                if (acquired == null) {
                    throw new IllegalStateException("cannot recover " + path + ": the " + names[held] + " is held by live "
                            + ProcessIdentity.describe(memory.getLongVolatile(lockOffsets[held])) + " for over a second");
                }
                if (acquired == SpinLock.Acquired.TAKEN_OVER) {
                    takenOver++;
                }
            }
            consistent = false;
            long relinked = buddy.rebuild();
            for (int c = 0; c < SizeClasses.COUNT; c++) {
                for (int s = 0; s < stripes; s++) {
                    slab.rebuild(c, s);
                }
            }
            consistent = true;
            return new RecoveryReport(takenOver, processTable.removeDead(), relinked);
        } finally {
            // A repair that failed part-way leaves every lock marked, so the next taker repairs again.
            for (int i = held - 1; i >= 0; i--) {
                if (consistent) {
                    SpinLock.release(memory, lockOffsets[i], token);
                } else {
                    SpinLock.releasePoisoned(memory, lockOffsets[i], token);
                }
            }
        }
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
        usableSize(offset);
        lockNames();
        try {
            names.bind(bytes, name, offset);
        } finally {
            unlockNames();
        }
    }

    /** The offset bound to {@code name}, if any. */
    public java.util.OptionalLong lookup(String name) {
        ensureOpen();
        byte[] bytes = NameDirectory.encode(name);
        if (readOnly) {
            return consistentReads.read(() -> names.lookup(bytes), found -> false, Long.MAX_VALUE).value();
        }
        lockNames();
        try {
            return names.lookup(bytes);
        } finally {
            unlockNames();
        }
    }

    /**
     * Removes the binding of {@code name} and returns the offset it named.
     *
     * @throws IllegalArgumentException if the name is invalid or not bound
     */
    public long unbind(String name) {
        ensureWritable();
        byte[] bytes = NameDirectory.encode(name);
        lockNames();
        try {
            return names.unbind(bytes).orElseThrow(() -> new IllegalArgumentException("name '" + name + "' is not bound in heap " + path));
        } finally {
            unlockNames();
        }
    }

    /** Every bound name and its offset. */
    public java.util.Map<String, Long> names() {
        ensureOpen();
        if (readOnly) {
            return consistentReads.read(names::entries, entries -> false, Long.MAX_VALUE).value();
        }
        lockNames();
        try {
            return names.entries();
        } finally {
            unlockNames();
        }
    }

    private void lockNames() {
        // Entries commit with one store, so a takeover from a dead owner needs no repair.
        SpinLock.acquire(memory, NAME_DIRECTORY_LOCK_OFFSET, token, nameLockName);
    }

    private void unlockNames() {
        SpinLock.release(memory, NAME_DIRECTORY_LOCK_OFFSET, token);
    }

    // ---- bounds-checked accessors: the access must lie inside the data region ----

    /** The address of {@code offset} in this process; valid until {@link #close()}. */
    public long address(long offset) {
        ensureOpen();
        checkInData(offset);
        return memory.baseAddress() + offset;
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
            throw new IllegalStateException("heap " + path + " is closed");
        }
        if (offset < layout.dataOffset() || length < 0 || offset > layout.dataEnd() - length) {
            throw new IndexOutOfBoundsException("access of " + length + " bytes at offset " + offset + " is outside the data region ["
                    + layout.dataOffset() + ", " + layout.dataEnd() + ") of heap " + path);
        }
        if (layout.sparse()) {
            checkReserved(offset, length);
        }
        return offset;
    }

    /**
     * In a sparse heap, memory the buddy never handed out may have no backing store: touching
     * it on a full filesystem raises SIGBUS. Refuse such an access instead.
     */
    private void checkReserved(long offset, long length) {
        long first = (offset - layout.dataOffset()) >>> HeapLayout.EXTENT_SHIFT;
        long last = (offset + Math.max(length, 1) - 1 - layout.dataOffset()) >>> HeapLayout.EXTENT_SHIFT;
        for (long extent = first; extent <= last; extent++) {
            if (!pages.reservations().dataReserved(extent)) {
                throw new IndexOutOfBoundsException("access of " + length + " bytes at offset " + offset + " touches data extent " + extent
                        + " of sparse heap " + path + ", which was never allocated and has no reserved backing store");
            }
        }
    }

    private void checkInData(long offset) {
        if (!layout.inData(offset)) {
            throw outsideData(offset);
        }
    }

    private IllegalArgumentException outsideData(long offset) {
        return new IllegalArgumentException("offset " + offset + " is outside the data region [" + layout.dataOffset() + ", "
                + layout.dataEnd() + ") of heap " + path);
    }

    // ---- locking: every lock is taken here, and a takeover repairs before use ----

    /**
     * Takes the buddy lock; after a takeover from a dead owner, rebuilds the free lists first.
     * A rebuild that fails leaves the lock marked for repair for the next taker.
     */
    private void lockBuddy() {
        if (SpinLock.acquire(memory, BUDDY_LOCK_OFFSET, token, buddyLockName) == SpinLock.Acquired.TAKEN_OVER) {
            boolean repaired = false;
            try {
                buddy.rebuild();
                repaired = true;
            } finally {
                if (!repaired) {
                    unlockBuddy(false);
                }
            }
        }
    }

    /**
     * Releases the buddy lock; {@code consistent == false} means the section ended early with
     * an exception and may have left the lists half-updated, so the lock is left marked for
     * repair and the next taker rebuilds them from the page map.
     */
    private void unlockBuddy(boolean consistent) {
        if (consistent) {
            SpinLock.release(memory, BUDDY_LOCK_OFFSET, token);
        } else {
            SpinLock.releasePoisoned(memory, BUDDY_LOCK_OFFSET, token);
        }
    }

    /** Takes a class lock; after a takeover, rebuilds the class (under the buddy lock) first. */
    private void lockClass(int c, int s) {
        if (SpinLock.acquire(memory, classOffset(c, s, CLASS_LOCK), token, classLockNames[lockIndex(c, s)]) == SpinLock.Acquired.TAKEN_OVER) {
            repairClass(c, s);
        }
    }

    private static int lockIndex(int c, int s) {
        return c * CLASS_STRIPES + s;
    }

    /** Apart from {@link #lockClass} so that the hot path stays small enough to inline. */
    private void repairClass(int c, int s) {
        boolean repaired = false;
        try {
            lockBuddy();
            boolean consistent = false;
            try {
                slab.rebuild(c, s);
                consistent = true;
            } finally {
                unlockBuddy(consistent);
            }
            repaired = true;
        } finally {
            if (!repaired) {
                unlockClass(c, s, false);
            }
        }
    }

    /** Releases a class lock, marked for repair unless {@code consistent} (see {@link #unlockBuddy}). */
    private void unlockClass(int c, int s, boolean consistent) {
        if (consistent) {
            SpinLock.release(memory, classOffset(c, s, CLASS_LOCK), token);
        } else {
            SpinLock.releasePoisoned(memory, classOffset(c, s, CLASS_LOCK), token);
        }
    }

    /** Slab sets come from the buddy allocator, under its lock, nested inside a class lock. */
    private final class BuddySetSource implements SetSource {
        @Override
        public long takeSet(int sizeClass, int stripe) {
            lockBuddy();
            boolean consistent = false;
            try {
                long page = buddy.allocateSets(sizeClass, stripe, layout.setGroupOrder(sizeClass));
                consistent = true;
                return page == BuddyAllocator.NO_BLOCK ? NO_SET : page;
            } finally {
                unlockBuddy(consistent);
            }
        }

        @Override
        public void returnSet(long page) {
            lockBuddy();
            boolean consistent = false;
            try {
                buddy.free(page);
                consistent = true;
            } finally {
                unlockBuddy(consistent);
            }
        }
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

    /** Unmaps the heap and leaves the process table; the file stays for other processes. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!readOnly) {
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
