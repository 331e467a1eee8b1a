package dev.shmheap.internal.layout;

import dev.shmheap.HeapFormatException;
import dev.shmheap.internal.process.ProcessTokens;
import dev.shmheap.internal.memory.MappedMemory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

import static dev.shmheap.internal.layout.HeaderDescriptor.*;

/**
 * Where each region of a heap file lies, computed from the capacity alone:
 *
 * <pre>
 * +---------------------+ 0
 * | header (4 KiB)      | {@link HeaderDescriptor}
 * +---------------------+ 4 KiB
 * | process table       | 4 KiB
 * +---------------------+ 8 KiB
 * | name directory      | 16 KiB: 256 names of up to 47 bytes
 * +---------------------+ 24 KiB
 * | owned-set registry  | 64 KiB: per process-table slot, 64 owned sets (OwnerRegistry)
 * +---------------------+ 88 KiB
 * | extent map          | two bitmaps, one bit per 1 MiB extent of the data region:
 * |                     | page-map slice reserved, data reserved (sparse heaps)
 * +---------------------+ page aligned
 * | page map            | 32 bytes per 4 KiB data page ({@link PageMapEntry})
 * +---------------------+ page aligned
 * | holder map          | 64 bytes per 4 KiB data page: who holds each block ({@link HolderMap})
 * +---------------------+ aligned to min(2 MiB, largest power of two &lt;= capacity)
 * | data region         | capacity bytes: buddy blocks and slab sets
 * +---------------------+ file length
 * </pre>
 *
 * <p>Because the data region starts at a multiple of its alignment, a buddy block of
 * {@code n <= 2 MiB} bytes lies at a file offset that is a multiple of {@code n}; that is what
 * makes the allocator's alignment guarantee hold for offsets (and, since every mapping starts
 * on a page boundary, for addresses up to 4 KiB).
 */
public final class HeapLayout {
    /** 2^2 pages have their page-map entries on one 64-byte line (see {@link #setGroupOrder}). */
    public static final int SET_GROUP_MIN_ORDER = 2;
    /** The smallest capacity whose size classes use two stripes (see {@link #classStripes()}). */
    public static final long STRIPED_MIN_CAPACITY = 32L << 20;
    public static final long MIN_CAPACITY = 32 * 1024;
    public static final long MAX_CAPACITY = 1L << 40;
    public static final int EXTENT_SHIFT = 20;
    public static final long EXTENT_SIZE = 1L << EXTENT_SHIFT;
    public static final int PAGES_PER_EXTENT = (int) (EXTENT_SIZE >> SizeClasses.PAGE_SHIFT);
    public static final long MAX_DATA_ALIGNMENT = 2L << 20;
    public static final int PROCESS_TABLE_LENGTH = 8192;
    public static final int NAME_DIRECTORY_LENGTH = 16384;
    public static final int OWNER_REGISTRY_LENGTH = 65536;

    private final long capacity;
    private final long pageCount;
    private final long extentCount;
    private final long extentMapOffset;
    private final long extentWords;
    private final long pageMapOffset;
    private final long pageMapLength;
    private final long holderMapOffset;
    private final long holderMapLength;
    private final long dataOffset;
    private final long fileLength;
    private final long dataAlignment;
    private final int maxOrder;
    private final boolean sparse;
    private final boolean reclaimDead;

    private HeapLayout(long capacity, boolean sparse, boolean reclaimDead) {
        this.capacity = capacity;
        this.sparse = sparse;
        this.reclaimDead = reclaimDead;
        this.pageCount = capacity >>> SizeClasses.PAGE_SHIFT;
        this.extentCount = (capacity + EXTENT_SIZE - 1) >>> EXTENT_SHIFT;
        this.extentWords = (extentCount + 63) >>> 6;
        this.extentMapOffset = HEADER_LENGTH + PROCESS_TABLE_LENGTH + NAME_DIRECTORY_LENGTH + OWNER_REGISTRY_LENGTH;
        this.pageMapOffset = alignUp(extentMapOffset + 2 * extentWords * 8, SizeClasses.PAGE_SIZE);
        this.pageMapLength = alignUp(pageCount * PageMapEntry.LENGTH, SizeClasses.PAGE_SIZE);
        this.dataAlignment = Math.min(MAX_DATA_ALIGNMENT, Long.highestOneBit(capacity));
        this.holderMapOffset = pageMapOffset + pageMapLength;
        this.holderMapLength = alignUp(pageCount * HolderMap.LINE, SizeClasses.PAGE_SIZE);
        this.dataOffset = alignUp(holderMapOffset + holderMapLength, dataAlignment);
        this.fileLength = dataOffset + capacity;
        this.maxOrder = 63 - Long.numberOfLeadingZeros(pageCount);
    }

    /**
     * The layout of a new heap of at least {@code requestedCapacity} data bytes (rounded up to
     * whole 4 KiB pages).
     */
    public static HeapLayout forCapacity(long requestedCapacity, boolean sparse) {
        return forCapacity(requestedCapacity, sparse, false);
    }

    /** {@link #forCapacity(long, boolean)}, with or without {@code RECLAIM_DEAD}. */
    public static HeapLayout forCapacity(long requestedCapacity, boolean sparse, boolean reclaimDead) {
        if (requestedCapacity < MIN_CAPACITY || requestedCapacity > MAX_CAPACITY) {
            throw new IllegalArgumentException("capacityBytes=" + requestedCapacity + " is outside [" + MIN_CAPACITY + ", " + MAX_CAPACITY + "]");
        }
        return new HeapLayout(alignUp(requestedCapacity, SizeClasses.PAGE_SIZE), sparse, reclaimDead);
    }

    /**
     * Validates the first page of a file and returns its layout, or throws a
     * {@link HeapFormatException} that says what was found and what was expected.
     */
    public static HeapLayout read(ByteBuffer header, long actualFileLength, String file) {
        header = header.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (actualFileLength < HEADER_LENGTH) {
            if (actualFileLength >= 8 && header.getLong(MAGIC_OFFSET) == MAGIC) {
                throw new HeapFormatException(file + ": truncated heap file: " + actualFileLength + " bytes, shorter than its " + HEADER_LENGTH + "-byte header");
            }
            throw new HeapFormatException(file + ": not a shm-heap file (" + actualFileLength + " bytes, a heap starts with a " + HEADER_LENGTH + "-byte header)");
        }
        long magic = header.getLong(MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new HeapFormatException(file + ": not a shm-heap file: magic is 0x" + Long.toHexString(magic) + ", expected 0x" + Long.toHexString(MAGIC));
        }
        int version = header.getInt(FORMAT_VERSION_OFFSET);
        if (version != FORMAT_VERSION) {
            throw new HeapFormatException(file + ": heap format version " + version + " found, this library reads version " + FORMAT_VERSION);
        }
        long stored = header.getLong(CHECKSUM_OFFSET);
        long computed = checksum(header);
        if (stored != computed) {
            throw new HeapFormatException(file + ": header checksum mismatch (stored 0x" + Long.toHexString(stored) + ", computed 0x"
                    + Long.toHexString(computed) + "): the header is corrupt");
        }
        long capacity = header.getLong(CAPACITY_OFFSET);
        if (capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || capacity % SizeClasses.PAGE_SIZE != 0) {
            throw new HeapFormatException(file + ": header capacity " + capacity + " is not a valid capacity (a multiple of "
                    + SizeClasses.PAGE_SIZE + " in [" + MIN_CAPACITY + ", " + MAX_CAPACITY + "])");
        }
        long flags = header.getLong(FLAGS_OFFSET);
        if ((flags & ~KNOWN_FLAGS) != 0) {
            throw new HeapFormatException(file + ": unknown header flags 0x" + Long.toHexString(flags) + ", this version knows only 0x"
                    + Long.toHexString(KNOWN_FLAGS) + " (SPARSE, RECLAIM_DEAD)");
        }
        HeapLayout expected = new HeapLayout(capacity, (flags & FLAG_SPARSE) != 0, (flags & FLAG_RECLAIM_DEAD) != 0);
        expected.expectInt(header, HEADER_LENGTH_OFFSET, HEADER_LENGTH, "header length", file);
        expected.expectInt(header, PAGE_SIZE_OFFSET, SizeClasses.PAGE_SIZE, "page size", file);
        expected.expectInt(header, PAGE_MAP_ENTRY_LENGTH_OFFSET, PageMapEntry.LENGTH, "page-map entry length", file);
        expected.expectInt(header, SET_SIZE_OFFSET, SizeClasses.SET_SIZE, "slab set size", file);
        expected.expectInt(header, CLASS_COUNT_OFFSET, SizeClasses.COUNT, "size-class count", file);
        expected.expectInt(header, MIN_CLASS_SIZE_OFFSET, SizeClasses.MIN_BLOCK, "smallest class", file);
        expected.expectInt(header, ORDER_COUNT_OFFSET, ORDER_COUNT, "buddy order count", file);
        expected.expectLong(header, EXTENT_SIZE_OFFSET, EXTENT_SIZE, "extent size", file);
        expected.expectLong(header, FILE_LENGTH_OFFSET, expected.fileLength, "file length", file);
        expected.expectLong(header, PROCESS_TABLE_OFFSET_OFFSET, HEADER_LENGTH, "process table offset", file);
        expected.expectLong(header, NAME_DIRECTORY_OFFSET_OFFSET, HEADER_LENGTH + PROCESS_TABLE_LENGTH, "name directory offset", file);
        expected.expectLong(header, EXTENT_MAP_OFFSET_OFFSET, expected.extentMapOffset, "extent map offset", file);
        expected.expectLong(header, PAGE_MAP_OFFSET_OFFSET, expected.pageMapOffset, "page map offset", file);
        expected.expectLong(header, DATA_OFFSET_OFFSET, expected.dataOffset, "data offset", file);
        long creatorNamespace = header.getLong(PID_NAMESPACE_OFFSET);
        long ourNamespace = ProcessTokens.pidNamespace();
        if (creatorNamespace != 0 && ourNamespace != 0 && creatorNamespace != ourNamespace) {
            throw new HeapFormatException(file + ": the heap was created in pid namespace " + creatorNamespace + ", this process is in "
                    + ourNamespace + "; lock owners are pids, which cannot be checked across namespaces (share the pid namespace, "
                    + "e.g. docker run --pid=host)");
        }
        if (actualFileLength < expected.fileLength) {
            throw new HeapFormatException(file + ": truncated heap file: " + actualFileLength + " bytes, its header says " + expected.fileLength);
        }
        if (actualFileLength > expected.fileLength) {
            throw new HeapFormatException(file + ": heap file is " + actualFileLength + " bytes, its header says " + expected.fileLength);
        }
        return expected;
    }

    private void expectInt(ByteBuffer header, int offset, int value, String name, String file) {
        int found = header.getInt(offset);
        if (found != value) {
            throw new HeapFormatException(file + ": header " + name + " is " + found + ", expected " + value + " for this format and capacity");
        }
    }

    private void expectLong(ByteBuffer header, int offset, long value, String name, String file) {
        long found = header.getLong(offset);
        if (found != value) {
            throw new HeapFormatException(file + ": header " + name + " is " + found + ", expected " + value + " for this format and capacity");
        }
    }

    /** Writes the immutable header fields and their checksum, but not the magic. */
    public void writeImmutableFields(MappedMemory memory, long creatorToken, long createdMillis) {
        memory.putInt(FORMAT_VERSION_OFFSET, FORMAT_VERSION);
        memory.putInt(HEADER_LENGTH_OFFSET, HEADER_LENGTH);
        memory.putInt(PAGE_SIZE_OFFSET, SizeClasses.PAGE_SIZE);
        memory.putInt(PAGE_MAP_ENTRY_LENGTH_OFFSET, PageMapEntry.LENGTH);
        memory.putInt(SET_SIZE_OFFSET, SizeClasses.SET_SIZE);
        memory.putInt(CLASS_COUNT_OFFSET, SizeClasses.COUNT);
        memory.putInt(MIN_CLASS_SIZE_OFFSET, SizeClasses.MIN_BLOCK);
        memory.putInt(ORDER_COUNT_OFFSET, ORDER_COUNT);
        memory.putLong(EXTENT_SIZE_OFFSET, EXTENT_SIZE);
        memory.putLong(CAPACITY_OFFSET, capacity);
        memory.putLong(FILE_LENGTH_OFFSET, fileLength);
        memory.putLong(PROCESS_TABLE_OFFSET_OFFSET, HEADER_LENGTH);
        memory.putLong(NAME_DIRECTORY_OFFSET_OFFSET, HEADER_LENGTH + PROCESS_TABLE_LENGTH);
        memory.putLong(EXTENT_MAP_OFFSET_OFFSET, extentMapOffset);
        memory.putLong(PAGE_MAP_OFFSET_OFFSET, pageMapOffset);
        memory.putLong(DATA_OFFSET_OFFSET, dataOffset);
        memory.putLong(FLAGS_OFFSET, (sparse ? FLAG_SPARSE : 0) | (reclaimDead ? FLAG_RECLAIM_DEAD : 0));
        memory.putLong(CREATOR_OFFSET, creatorToken);
        memory.putLong(CREATED_MILLIS_OFFSET, createdMillis);
        memory.putLong(PID_NAMESPACE_OFFSET, ProcessTokens.pidNamespace());
        byte[] immutable = new byte[IMMUTABLE_LENGTH];
        memory.getBytes(0, immutable, 0, IMMUTABLE_LENGTH);
        ByteBuffer view = ByteBuffer.wrap(immutable).order(ByteOrder.LITTLE_ENDIAN);
        view.putLong(MAGIC_OFFSET, MAGIC);
        memory.putLong(CHECKSUM_OFFSET, checksum(view));
    }

    /** CRC32C of the immutable bytes, as if the magic were already set. */
    private static long checksum(ByteBuffer header) {
        CRC32C crc = new CRC32C();
        ByteBuffer immutable = header.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        immutable.limit(IMMUTABLE_LENGTH).position(0);
        crc.update(immutable);
        return crc.getValue();
    }

    public static long alignUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }

    public long capacity() {
        return capacity;
    }

    /**
     * How many stripes of each size class this heap uses: {@link HeaderDescriptor#CLASS_STRIPES}
     * from {@link #STRIPED_MIN_CAPACITY} up, else 1. A stripe keeps partly used sets of its
     * own (up to 508 KiB over the seven classes), which a small heap cannot spare; in a
     * one-stripe heap the second stripe's header block is padding.
     */
    public int classStripes() {
        return capacity >= STRIPED_MIN_CAPACITY ? HeaderDescriptor.CLASS_STRIPES : 1;
    }

    /**
     * The order of the buddy block a stripe takes when class {@code c} needs a set: the set's
     * own order, except that in a striped heap the one- and two-page sets (64 and 128 B
     * classes) come in groups of four pages, cut into sets of that one stripe. Four pages'
     * entries are one 64-byte line of the page map, where each set's occupancy word lives:
     * without groups, the first sets of two stripes were neighbouring pages, and two processes
     * on different stripes still bounced one cache line on every allocate and free.
     */
    public int setGroupOrder(int c) {
        return classStripes() > 1 ? Math.max(SizeClasses.setOrder(c), SET_GROUP_MIN_ORDER) : SizeClasses.setOrder(c);
    }

    public long pageCount() {
        return pageCount;
    }

    public long extentCount() {
        return extentCount;
    }

    public long extentWords() {
        return extentWords;
    }

    /** Bitmap of extents whose page-map slice (one page of the page map) is reserved. */
    public long pageMapReservedBitmapOffset() {
        return extentMapOffset;
    }

    /** Bitmap of extents whose data bytes are reserved. */
    public long dataReservedBitmapOffset() {
        return extentMapOffset + extentWords * 8;
    }

    public long extentMapOffset() {
        return extentMapOffset;
    }

    public long pageMapOffset() {
        return pageMapOffset;
    }

    public long pageMapLength() {
        return pageMapLength;
    }

    public long holderMapOffset() {
        return holderMapOffset;
    }

    public long holderMapLength() {
        return holderMapLength;
    }

    /** The holder line of head page {@code page} (see {@link HolderMap}). */
    public long holderLine(long page) {
        return holderMapOffset + page * HolderMap.LINE;
    }

    /** Whether the heap frees blocks of processes that no longer run ({@code CreateOption.RECLAIM_DEAD}). */
    public boolean reclaimDead() {
        return reclaimDead;
    }

    public long dataOffset() {
        return dataOffset;
    }

    public long dataEnd() {
        return dataOffset + capacity;
    }

    public long fileLength() {
        return fileLength;
    }

    public long processTableOffset() {
        return HEADER_LENGTH;
    }

    public long nameDirectoryOffset() {
        return HEADER_LENGTH + PROCESS_TABLE_LENGTH;
    }

    /** The owned-set registry (see {@code OwnerRegistry}), right after the name directory. */
    public long ownerRegistryOffset() {
        return HEADER_LENGTH + PROCESS_TABLE_LENGTH + NAME_DIRECTORY_LENGTH;
    }

    public int maxOrder() {
        return maxOrder;
    }

    public boolean sparse() {
        return sparse;
    }

    /** The largest alignment that {@code allocate} can honour for offsets. */
    public long maxAlignment() {
        return Math.min(dataAlignment, (long) SizeClasses.PAGE_SIZE << maxOrder);
    }

    public long largestBlock() {
        return (long) SizeClasses.PAGE_SIZE << maxOrder;
    }

    public long entryOffset(long page) {
        return pageMapOffset + page * PageMapEntry.LENGTH;
    }

    public long pageOffset(long page) {
        return dataOffset + (page << SizeClasses.PAGE_SHIFT);
    }

    /** The data page holding file offset {@code offset}; the caller checked it is in the data region. */
    public long pageOf(long offset) {
        return (offset - dataOffset) >>> SizeClasses.PAGE_SHIFT;
    }

    public boolean inData(long offset) {
        return offset >= dataOffset && offset < dataOffset + capacity;
    }
}
