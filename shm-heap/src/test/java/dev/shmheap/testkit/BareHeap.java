package dev.shmheap.testkit;

import dev.shmheap.VerifyReport;
import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.process.ProcessTokens;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.names.NameDirectory;
import dev.shmheap.internal.pagemap.ExtentReservations;
import dev.shmheap.internal.pagemap.PageMap;
import dev.shmheap.internal.verify.HeapVerifier;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A heap file mapped and laid out as creation lays it out (immutable header, every extent
 * reserved, the data region as free buddy blocks, the magic last), with the buddy allocator
 * and the page map over it and nothing else: no {@code ShmHeap}, no locks, no routing. Unit
 * tests of one layer drive that layer directly on it; {@link #verify()} then checks every
 * invariant with the same walker {@code ShmHeap.verify()} uses.
 *
 * <p>This process is registered in process-table slot {@link #SLOT}, so blocks handed out
 * with {@link #HOLDER} have a live holder, as blocks of a real attachment do.
 */
public final class BareHeap implements AutoCloseable {
    /** The process-table slot this process takes. */
    public static final int SLOT = 0;
    /** The holder byte of blocks this process holds: its slot + 1. */
    public static final byte HOLDER = SLOT + 1;

    public final Path path;
    public final HeapLayout layout;
    public final MappedMemory memory;
    public final PageMap pages;
    public final BuddyAllocator buddy;
    public final long token = ProcessTokens.current();
    private final FileChannel channel;

    private BareHeap(Path path, HeapLayout layout, FileChannel channel, MappedMemory memory) {
        this.path = path;
        this.layout = layout;
        this.channel = channel;
        this.memory = memory;
        ExtentReservations reservations = new ExtentReservations(memory, layout, -1);
        reservations.markAllReserved();
        this.pages = new PageMap(memory, layout, reservations);
        this.buddy = new BuddyAllocator(memory, layout, pages);
    }

    /** Creates a non-sparse heap of {@code capacity} data bytes at {@code path}, which must not exist. */
    public static BareHeap create(Path path, long capacity) throws IOException {
        HeapLayout layout = HeapLayout.forCapacity(capacity, false);
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            file.setLength(layout.fileLength());
        }
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        BareHeap heap = new BareHeap(path, layout, channel, MappedMemory.map(channel, layout.fileLength()));
        layout.writeImmutableFields(heap.memory, heap.token, System.currentTimeMillis());
        if (!heap.buddy.initialize()) {
            throw new IllegalStateException("cannot lay out " + path);
        }
        heap.memory.putLongVolatile(HeaderDescriptor.MAGIC_OFFSET, HeaderDescriptor.MAGIC);
        if (heap.processTable().register(heap.token) != SLOT) {
            throw new IllegalStateException("a fresh process table gave another slot than " + SLOT);
        }
        return heap;
    }

    public ProcessTable processTable() {
        return new ProcessTable(memory, layout.processTableOffset());
    }

    /** The header word at {@code offset} (a counter, a list head). */
    public long header(long offset) {
        return memory.getLong(offset);
    }

    /** Every invariant of {@code HeapVerifier}, checked without locks: nothing else runs on this mapping. */
    public VerifyReport verify() {
        return new HeapVerifier(memory, layout, pages, processTable(), new NameDirectory(memory, layout.nameDirectoryOffset()), token,
                path.toString()).verifyUnlocked();
    }

    @Override
    public void close() throws IOException {
        memory.close();
        channel.close();
    }
}
