package dev.shmheap;

import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.*;

class NameDirectoryTest {
    /** Where an entry of the name directory keeps its block's offset (see NameDirectory's ruler). */
    private static final long ENTRY_OFFSET_WORD = 8;
    private Path path;
    private ShmHeap heap;

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @BeforeEach
    void setUp() throws Exception {
        path = heaps.newPath("names");
        heap = ShmHeap.create(path, 1 << 20);
    }

    @AfterEach
    void tearDown() throws Exception {
        heap.close();
    }

    @Test
    void shouldFindABoundNameFromAnotherInstance() throws Exception {
        long block = heap.allocate(256);
        heap.bind("orders", block);
        try (ShmHeap other = ShmHeap.open(path)) {
            assertEquals(OptionalLong.of(block), other.lookup("orders"));
            assertEquals(Map.of("orders", block), other.names());
        }
        assertEquals(block, heap.unbind("orders"));
        assertEquals(OptionalLong.empty(), heap.lookup("orders"));
        assertTrue(heap.verify().ok());
    }

    @Test
    void shouldRejectATakenName() {
        long a = heap.allocate(64);
        long b = heap.allocate(64);
        heap.bind("x", a);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> heap.bind("x", b));
        assertTrue(e.getMessage().contains("'x'") && e.getMessage().contains(Long.toString(a)), e.getMessage());
        assertEquals(OptionalLong.of(a), heap.lookup("x"));
    }

    @Test
    void shouldRejectEmptyAndTooLongNames() {
        long a = heap.allocate(64);
        assertThrows(IllegalArgumentException.class, () -> heap.bind("", a));
        assertThrows(IllegalArgumentException.class, () -> heap.bind(null, a));
        String longest = "n".repeat(47);
        heap.bind(longest, a);
        assertEquals(OptionalLong.of(a), heap.lookup(longest));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> heap.bind("n".repeat(48), a));
        assertTrue(e.getMessage().contains("48"), e.getMessage());
        // Multi-byte characters count in UTF-8 bytes: 24 x 2 bytes = 48.
        assertThrows(IllegalArgumentException.class, () -> heap.bind("é".repeat(24), a));
    }

    @Test
    void shouldRejectAnOffsetThatIsNotALiveBlock() {
        long a = heap.allocate(64);
        heap.free(a);
        assertThrows(IllegalArgumentException.class, () -> heap.bind("freed", a));
        assertThrows(IllegalArgumentException.class, () -> heap.bind("interior", heap.allocate(128) + 8));
        assertEquals(OptionalLong.empty(), heap.lookup("freed"));
    }

    @Test
    void shouldReportAFreedBlockThatIsStillBound() throws Exception {
        long a = heap.allocate(64);
        heap.bind("stale", a);
        // free refuses a bound block, so a stale binding comes only from outside the API (or another
        // version's bug): the entry's offset word is pointed at a block that was freed
        long freed = heap.allocate(128);
        heap.free(freed);
        long entryOffsetWord = HeapLayout.forCapacity(1 << 20, false).nameDirectoryOffset() + ENTRY_OFFSET_WORD;
        assertEquals(a, TestHeaps.readLong(path, entryOffsetWord), "the first entry names a");
        TestHeaps.writeLong(path, entryOffsetWord, freed);
        VerifyReport report = heap.verify();
        assertFalse(report.ok());
        assertTrue(report.problems().get(0).message().contains("stale"), report.toString());
        heap.unbind("stale");
        assertTrue(heap.verify().ok());
    }

    /** A name must never outlive its block: free of a bound block is refused, naming the binding. */
    @Test
    void shouldRefuseToFreeABoundBlockNamingTheBinding() {
        long slab = heap.allocate(64);
        long otherThreadsSlab = allocateOnAnotherThread(100);
        long buddy = heap.allocate(20_000);
        for (long block : new long[] {slab, otherThreadsSlab, buddy}) {
            heap.bind("bound-" + block, block);
            HeapStats before = heap.stats();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> heap.free(block));
            assertTrue(e.getMessage().contains("'bound-" + block + "'"), e.getMessage());
            assertTrue(e.getMessage().contains("offset " + block + " "), e.getMessage());
            assertTrue(e.getMessage().contains(path.toString()), e.getMessage());
            assertEquals(before.usedBytes(), heap.stats().usedBytes(), "the refused free changed the heap");
            assertEquals(block, heap.lookup("bound-" + block).orElseThrow());
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
        // a shared block without a name frees as before; an unbound block too
        long shared = heap.allocate(64);
        heap.share(shared);
        heap.free(shared);
        for (long block : new long[] {slab, otherThreadsSlab, buddy}) {
            assertEquals(block, heap.unbind("bound-" + block));
            heap.free(block);
        }
        assertEquals(0, heap.stats().usedBytes());
        assertTrue(heap.verify().ok(), heap.verify().toString());
    }

    private long allocateOnAnotherThread(long size) {
        long[] block = new long[1];
        Thread thread = new Thread(() -> block[0] = heap.allocate(size));
        thread.start();
        assertDoesNotThrow(() -> thread.join());
        return block[0];
    }

    @Test
    void shouldFailClearlyWhenTheDirectoryIsFull() {
        long a = heap.allocate(64);
        for (int i = 0; i < 256; i++) {
            heap.bind("n" + i, a);
        }
        ShmHeapException e = assertThrows(ShmHeapException.class, () -> heap.bind("one-more", a));
        assertTrue(e.getMessage().contains("full"), e.getMessage());
        heap.unbind("n7");
        heap.bind("one-more", a);
    }
}
