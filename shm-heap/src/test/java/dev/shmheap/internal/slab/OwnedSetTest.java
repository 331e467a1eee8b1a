package dev.shmheap.internal.slab;

import dev.shmheap.ShmHeap;
import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.pagemap.ExtentReservations;
import dev.shmheap.internal.pagemap.PageMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static dev.shmheap.internal.layout.HeaderDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Drives {@link OwnedSet} and the take / release / collect / rebuild steps of
 * {@link SlabAllocator} on a bare mapping of a heap file, without locks and without
 * {@code ShmHeap}'s routing: one set of class 0 (64 B) of the one stripe of a 1 MiB heap.
 */
class OwnedSetTest {
    private static final long CAPACITY = 1 << 20;
    private static final int C = 0;
    private static final int S = 0;
    /** The owner field of process-table slot 3. */
    private static final int OWNER = 4;

    private Path path;
    private FileChannel channel;
    private MappedMemory memory;
    private HeapLayout layout;
    private PageMap pages;
    private OwnerRegistry registry;
    private SlabAllocator slab;
    private boolean ownerAlive = true;

    @BeforeEach
    void mapBareHeap() throws IOException {
        path = Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : System.getProperty("java.io.tmpdir"))
                .resolve("shmheap-test-owned-set-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".heap");
        ShmHeap.create(path, CAPACITY).close();
        layout = HeapLayout.forCapacity(CAPACITY, false);
        channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        memory = MappedMemory.map(channel, layout.fileLength());
        pages = new PageMap(memory, layout, new ExtentReservations(memory, layout, -1));
        BuddyAllocator buddy = new BuddyAllocator(memory, layout, pages);
        registry = new OwnerRegistry(memory, layout);
        slab = new SlabAllocator(memory, layout, pages, new SetSource() {
            @Override
            public long takeSet(int sizeClass, int stripe) {
                long page = buddy.allocateSets(sizeClass, stripe, layout.setGroupOrder(sizeClass));
                return page == BuddyAllocator.NO_BLOCK ? NO_SET : page;
            }

            @Override
            public void returnSet(long page) {
                buddy.free(page);
            }
        }, registry, slot -> slot == OWNER - 1 && ownerAlive);
    }

    @AfterEach
    void unmap() throws IOException {
        memory.close();
        channel.close();
        Files.deleteIfExists(path);
    }

    private long counter(int field) {
        return memory.getLong(classOffset(C, S, field));
    }

    private void assertCountersAgree(long expectedUsed) {
        assertEquals(expectedUsed, counter(CLASS_USED_BLOCKS), "used blocks of the unowned sets");
        assertEquals(expectedUsed, counter(CLASS_ALLOCATIONS) - counter(CLASS_FREES), "allocations - frees == used");
    }

    /** Two blocks under the lock, then the set is taken: returns its head entry. */
    private long takeWithTwoLiveBlocks() {
        assertNotEquals(SlabAllocator.NO_BLOCK, slab.allocate(C, S, (byte) 1));
        assertNotEquals(SlabAllocator.NO_BLOCK, slab.allocate(C, S, (byte) 1));
        long set = slab.takeSet(C, S, OWNER, 5);
        assertNotEquals(SlabAllocator.NO_BLOCK, set);
        return pages.entry(set);
    }

    @Test
    void shouldTakeTheSetOffThePartialListAndOutOfTheCounters() {
        long entry = takeWithTwoLiveBlocks();
        long set = (entry - layout.pageMapOffset()) / PageMapEntry.LENGTH;
        long word0 = pages.word0At(entry);
        assertEquals(OWNER, PageMapEntry.owner(word0));
        assertEquals(0, PageMapEntry.link(word0), "an owned set is on no list");
        assertEquals(0, counter(CLASS_PARTIAL_HEAD), "the only set left the partial list");
        assertEquals(set, registry.set(OWNER - 1, 5), "the registry names the set, registry entry first");
        assertCountersAgree(0);
        assertEquals(2, OwnedSet.liveBlocks(memory, entry));
    }

    @Test
    void shouldAllocateAndFreeLocallyAndRejectADoubleFree() {
        long entry = takeWithTwoLiveBlocks();
        assertEquals(2, OwnedSet.allocate(memory, entry, holderLine(entry), (byte) 1), "the lowest clear bit");
        assertEquals(1, pages.word3At(entry), "the owner's allocation count");
        assertTrue(OwnedSet.free(memory, entry, 2));
        assertFalse(OwnedSet.free(memory, entry, 2), "a double free changes nothing");
        assertEquals(0b11, pages.word1At(entry));
    }

    @Test
    void shouldFreeRemotelyWithOneBitOfRAndRejectADoubleFree() {
        long entry = takeWithTwoLiveBlocks();
        assertEquals(OwnedSet.FREED, OwnedSet.remoteFree(memory, entry, 1));
        assertEquals(0b10, pages.word2At(entry));
        assertEquals(OwnedSet.NOT_LIVE, OwnedSet.remoteFree(memory, entry, 1), "already in R");
        assertFalse(OwnedSet.free(memory, entry, 1), "the owner cannot free it again either");
        assertEquals(OwnedSet.NOT_LIVE, OwnedSet.remoteFree(memory, entry, 9), "never allocated");
        assertEquals(1, OwnedSet.liveBlocks(memory, entry));
    }

    @Test
    void shouldCollectRemoteFreesInBulkWhenTheSetIsFull() {
        long entry = takeWithTwoLiveBlocks();
        for (int i = 2; i < 64; i++) {
            assertEquals(i, OwnedSet.allocate(memory, entry, holderLine(entry), (byte) 1));
        }
        assertEquals(-1, OwnedSet.allocate(memory, entry, holderLine(entry), (byte) 1), "full");
        OwnedSet.remoteFree(memory, entry, 7);
        OwnedSet.remoteFree(memory, entry, 40);
        assertEquals((1L << 7) | (1L << 40), OwnedSet.collect(memory, entry));
        assertEquals(0, pages.word2At(entry));
        assertEquals(7, OwnedSet.allocate(memory, entry, holderLine(entry), (byte) 1));
        assertEquals(40, OwnedSet.allocate(memory, entry, holderLine(entry), (byte) 1));
        assertEquals(0, OwnedSet.collect(memory, entry), "nothing left to collect");
    }

    @Test
    void shouldSettleTheOwnersFiguresIntoTheCountersOnRelease() {
        long entry = takeWithTwoLiveBlocks();
        long set = registry.set(OWNER - 1, 5);
        long allocationsBefore = counter(CLASS_ALLOCATIONS);
        OwnedSet.allocate(memory, entry, holderLine(entry), (byte) 1);
        OwnedSet.allocate(memory, entry, holderLine(entry), (byte) 1);
        OwnedSet.allocate(memory, entry, holderLine(entry), (byte) 1);
        OwnedSet.free(memory, entry, 3);
        OwnedSet.remoteFree(memory, entry, 0);
        slab.releaseSet(C, S, set, OWNER, 5);
        assertEquals(0, PageMapEntry.owner(pages.word0At(entry)));
        assertEquals(0, pages.word2At(entry), "R collected");
        assertEquals(0, pages.word3At(entry), "the allocation count settled");
        assertEquals(-1, registry.set(OWNER - 1, 5), "registry entry cleared");
        assertEquals(set + 1, counter(CLASS_PARTIAL_HEAD), "listed again: it has free blocks");
        assertCountersAgree(3);
        assertEquals(allocationsBefore + 3, counter(CLASS_ALLOCATIONS));
    }

    @Test
    void shouldLetAFreerWhoseCasMetAReleaseCollectUnderTheLock() {
        long entry = takeWithTwoLiveBlocks();
        long set = registry.set(OWNER - 1, 5);
        for (int i = 2; i < 64; i++) {
            OwnedSet.allocate(memory, entry, holderLine(entry), (byte) 1);
        }
        slab.releaseSet(C, S, set, OWNER, 5);
        assertEquals(0, counter(CLASS_PARTIAL_HEAD), "a full set is not listed");
        // the freer read owner != 0, the owner released, then the freer's CAS landed
        assertEquals(OwnedSet.FREED_UNOWNED, OwnedSet.remoteFree(memory, entry, 12));
        assertCountersAgree(64);
        slab.collectUnowned(C, S, set);
        assertCountersAgree(63);
        assertEquals(0, pages.word2At(entry));
        assertEquals(set + 1, counter(CLASS_PARTIAL_HEAD), "listed again");
    }

    @Test
    void shouldAdoptADeadOwnersSetInARebuild() {
        long entry = takeWithTwoLiveBlocks();
        long set = registry.set(OWNER - 1, 5);
        OwnedSet.allocate(memory, entry, holderLine(entry), (byte) 1);
        OwnedSet.remoteFree(memory, entry, 0);
        ownerAlive = false;
        slab.rebuild(C, S);
        assertEquals(0, PageMapEntry.owner(pages.word0At(entry)), "adopted");
        assertEquals(0, pages.word2At(entry));
        assertEquals(-1, registry.set(OWNER - 1, 5), "no stale registry entry");
        assertEquals(set + 1, counter(CLASS_PARTIAL_HEAD));
        assertCountersAgree(2);
    }

    @Test
    void shouldLeaveALiveOwnersSetAloneInARebuild() {
        long entry = takeWithTwoLiveBlocks();
        long set = registry.set(OWNER - 1, 5);
        OwnedSet.allocate(memory, entry, holderLine(entry), (byte) 1);
        slab.rebuild(C, S);
        assertEquals(OWNER, PageMapEntry.owner(pages.word0At(entry)));
        assertEquals(set, registry.set(OWNER - 1, 5));
        assertEquals(0, counter(CLASS_PARTIAL_HEAD), "not listed");
        assertCountersAgree(0);
    }

    @Test
    void shouldLoseNoFreeWhenKilledBetweenTheTwoStoresOfACollection() {
        long entry = takeWithTwoLiveBlocks();
        OwnedSet.remoteFree(memory, entry, 1);
        // the collector's first store (O without R's bits) happened, its CAS on R did not
        pages.putWord1At(entry, pages.word1At(entry) & ~pages.word2At(entry));
        assertEquals(1, OwnedSet.liveBlocks(memory, entry), "block 1 reads as free, block 0 as live");
        ownerAlive = false;
        slab.rebuild(C, S);
        assertEquals(0, pages.word2At(entry), "the adopter finished the collection");
        assertEquals(0b1, pages.word1At(entry));
        assertCountersAgree(1);
    }

    /** The holder-map line of the set whose head entry is {@code entry}. */
    private long holderLine(long entry) {
        return layout.holderLine((entry - layout.pageMapOffset()) / PageMapEntry.LENGTH);
    }
}
