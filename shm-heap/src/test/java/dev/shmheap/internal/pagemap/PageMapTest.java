package dev.shmheap.internal.pagemap;

import dev.shmheap.HeapCorruptedException;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.testkit.BareHeap;
import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static dev.shmheap.internal.layout.PageMapEntry.SLAB;
import static dev.shmheap.internal.layout.PageMapEntry.SLAB_PAGE;
import static dev.shmheap.internal.layout.PageMapEntry.USED;
import static org.junit.jupiter.api.Assertions.*;

/** {@link PageMap} on a bare mapping: where entries live, checked links and pages, live-block lookups, unreserved slices. */
class PageMapTest {
    private static final long MIB = 1 << 20;

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    private BareHeap heap;
    private PageMap pages;

    @BeforeEach
    void mapBareHeap() throws IOException {
        heap = BareHeap.create(heaps.newPath("pagemap"), MIB);
        pages = heap.pages;
    }

    @AfterEach
    void unmap() throws IOException {
        heap.close();
    }

    @Test
    void shouldKeepEachPagesEntryAtItsFixedOffset() {
        long page = 37;
        assertEquals(heap.layout.pageMapOffset() + page * PageMapEntry.LENGTH, pages.entry(page));
        long word0 = PageMapEntry.word0(USED, 0, 0, 0);
        pages.putWord1(page, 0x1234);
        pages.putWord0(page, word0);
        assertEquals(word0, heap.memory.getLong(pages.entry(page) + PageMapEntry.WORD0));
        assertEquals(0x1234, heap.memory.getLong(pages.entry(page) + PageMapEntry.WORD1));
        assertEquals(word0, pages.word0(page));
        assertEquals(0x1234, pages.word1(page));
    }

    @Test
    void shouldRefuseAPageOutsideTheMapNamingIt() {
        long count = pages.pageCount();
        HeapCorruptedException e = assertThrows(HeapCorruptedException.class, () -> pages.word0(count));
        assertEquals("page index " + count + " is outside the page map of " + count + " pages", e.getMessage());
        assertThrows(HeapCorruptedException.class, () -> pages.word0(-1));
        assertThrows(HeapCorruptedException.class, () -> pages.putWord0(count, 0));
    }

    @Test
    void shouldTurnLinksIntoPagesAndRefuseOutOfRangeLinksNamingWhereTheyWereRead() {
        assertEquals(0, pages.pageOfLink(1, "free-list head of order", 3));
        assertEquals(pages.pageCount() - 1, pages.pageOfLink(pages.pageCount(), "free-list head of order", 3));
        HeapCorruptedException zero = assertThrows(HeapCorruptedException.class, () -> pages.pageOfLink(0, "free-list head of order", 3));
        assertEquals("free-list head of order 3 holds link 0, outside pages 1.." + pages.pageCount(), zero.getMessage());
        assertThrows(HeapCorruptedException.class, () -> pages.pageOfLink(pages.pageCount() + 1, "partial list of class", 64));
    }

    @Test
    void shouldSizeOnlyTheStartOfALiveBuddyBlock() {
        long page = heap.buddy.allocate(1, heap.token, BareHeap.HOLDER);
        long offset = heap.layout.pageOffset(page);
        assertEquals(8192, pages.liveBlockSize(offset));
        assertEquals(-1, pages.liveBlockSize(offset + 64), "an interior offset");
        assertEquals(heap.layout.holderLine(page), pages.liveBlockHolder(offset));
        assertTrue(heap.buddy.freeUsed(page));
        assertEquals(-1, pages.liveBlockSize(offset), "a freed block");
        assertEquals(-1, pages.liveBlockHolder(offset));
        assertEquals(-1, pages.liveBlockSize(heap.layout.dataOffset() - 8), "before the data region");
    }

    @Test
    void shouldSizeSlabBlocksFromTheSetsOccupancy() {
        int c = 1; // 128-byte blocks, two-page sets
        long set = heap.buddy.allocateSets(c, 0, SizeClasses.setOrder(c));
        pages.putWord0(set + 1, PageMapEntry.slabWord0(SLAB_PAGE, c, 0, 0));
        pages.putWord1(set, 0b101); // blocks 0 and 2 handed out
        long base = heap.layout.pageOffset(set);
        assertEquals(128, pages.liveBlockSize(base));
        assertEquals(-1, pages.liveBlockSize(base + 128), "block 1 is free");
        assertEquals(128, pages.liveBlockSize(base + 256));
        assertEquals(-1, pages.liveBlockSize(base + 300), "inside block 2");
        assertEquals(heap.layout.holderLine(set) + 2, pages.liveBlockHolder(base + 256), "byte 2 of the set's holder line");
        assertEquals(SLAB, PageMapEntry.kind(pages.word0(set)));
    }

    @Test
    void shouldReadAnUnreservedSliceAsNoneAndRefuseToWriteIt() throws IOException {
        HeapLayout sparse = HeapLayout.forCapacity(4 * MIB, true);
        Path path = heaps.newPath("sparse");
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            file.setLength(sparse.fileLength());
        }
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
             MappedMemory memory = MappedMemory.map(channel, sparse.fileLength())) {
            PageMap sparsePages = new PageMap(memory, sparse, new ExtentReservations(memory, sparse, -1));
            long pageOfSecondExtent = 256;
            assertEquals(-1, sparsePages.entry(pageOfSecondExtent), "no entry offset for an unreserved slice");
            assertEquals(0, sparsePages.word0(pageOfSecondExtent), "read as NONE");
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> sparsePages.putWord0(pageOfSecondExtent, 1));
            assertEquals("write to page-map entry 256 whose slice is not reserved", e.getMessage());
        }
    }
}
