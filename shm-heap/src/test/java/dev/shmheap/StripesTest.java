package dev.shmheap;

import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;

import static dev.shmheap.TestHeaps.deadToken;
import static dev.shmheap.TestHeaps.readLong;
import static dev.shmheap.TestHeaps.writeLong;
import static dev.shmheap.internal.layout.HeaderDescriptor.CLASS_LOCK;
import static dev.shmheap.internal.layout.HeaderDescriptor.CLASS_PARTIAL_HEAD;
import static dev.shmheap.internal.layout.HeaderDescriptor.CLASS_SET_COUNT;
import static dev.shmheap.internal.layout.HeaderDescriptor.classOffset;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each size class has two stripes (in heaps from 32 MiB); an attachment allocates from the
 * stripe of its process-table slot's parity until it finds that stripe's lock taken and the
 * other's free, and frees into the stripe of the block's set. Two attachments of one
 * JVM take slots 0 and 1, so they stand in for two processes here (MultiProcessTest and the
 * chaos run cover real ones).
 */
class StripesTest {
    private static final int CLASS_64 = 0;
    private static final long SET_BYTES_64 = 4096;
    private static final long STRIPED = HeapLayout.STRIPED_MIN_CAPACITY;

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @Test
    void shouldServeTwoAttachmentsFromDifferentSetsAndAcceptEachOthersFrees() throws Exception {
        Path path = heaps.newPath("stripes");
        try (ShmHeap first = ShmHeap.create(path, STRIPED, CreateOption.SPARSE); ShmHeap second = ShmHeap.open(path)) {
            long a = first.allocate(64);
            long b = second.allocate(64);
            assertNotEquals(a / SET_BYTES_64, b / SET_BYTES_64, "blocks of the two stripes come from different sets");
            assertNotEquals(a / (4 * SET_BYTES_64), b / (4 * SET_BYTES_64),
                    "and from different groups of four pages, whose page-map entries share a cache line");
            assertEquals(8, first.stats().sizeClass(64).sets(), "a group of four one-page sets per stripe");
            assertEquals(2, first.stats().sizeClass(64).usedBlocks(), "stats add the stripes up");
            assertTrue(first.verify().ok(), first.verify().toString());

            first.free(b);
            second.free(a);
            assertEquals(0, second.stats().sizeClass(64).usedBlocks());
            assertEquals(2, second.stats().sizeClass(64).frees());
            assertTrue(second.verify().ok(), second.verify().toString());
            // each attachment's trim gives back its own current set and every empty unowned set
            assertEquals(8 * SET_BYTES_64, first.trim() + second.trim(), "both stripes' empty sets go back");
            assertTrue(first.verify().ok(), first.verify().toString());
        }
    }

    @Test
    void shouldRepairOnlyTheStripeADeadProcessHeld() throws Exception {
        Path path = heaps.newPath("stripes-takeover");
        try (ShmHeap first = ShmHeap.create(path, STRIPED, CreateOption.SPARSE); ShmHeap second = ShmHeap.open(path)) {
            long a = first.allocate(64);
            long b = second.allocate(64);
            second.close(); // its set goes back to stripe 1's partial list with b live in it
            // a process died in stripe 1 holding its lock, having cut the partial list
            writeLong(path, classOffset(CLASS_64, 1, CLASS_LOCK), deadToken());
            writeLong(path, classOffset(CLASS_64, 1, CLASS_PARTIAL_HEAD), 0);
            long stripe0Head = readLong(path, classOffset(CLASS_64, 0, CLASS_PARTIAL_HEAD));
            assertFalse(first.verify().ok(), "verify sees the dead owner and the cut list");

            long a2 = first.allocate(64);
            assertEquals(a + 64, a2, "stripe 0 goes on untouched");
            assertTrue(readLong(path, classOffset(CLASS_64, 1, CLASS_LOCK)) != 0, "stripe 1 is still held by the dead owner");

            first.free(b); // into an unowned set of stripe 1: takes the lock over and rebuilds the stripe first
            assertEquals(0, readLong(path, classOffset(CLASS_64, 1, CLASS_LOCK)), "released after the repair");
            assertEquals(stripe0Head, readLong(path, classOffset(CLASS_64, 0, CLASS_PARTIAL_HEAD)));
            assertTrue(first.verify().ok(), first.verify().toString());
            first.free(a);
            first.free(a2);
            assertEquals(0, first.stats().sizeClass(64).usedBlocks());
            assertTrue(first.verify().ok(), first.verify().toString());
        }
    }

    @Test
    void shouldMoveToTheOtherStripeWhenItsOwnIsBusy() throws Exception {
        Path path = heaps.newPath("stripes-switch");
        try (ShmHeap heap = ShmHeap.create(path, STRIPED, CreateOption.SPARSE)) {
            // stripe 0's lock held (by this process: the CAS from 0 fails all the same)
            writeLong(path, classOffset(CLASS_64, 0, CLASS_LOCK), ProcessIdentity.current());
            long[] blocks = new long[65];
            blocks[0] = heap.allocate(64);
            writeLong(path, classOffset(CLASS_64, 0, CLASS_LOCK), 0);
            assertEquals(0, readLong(path, classOffset(CLASS_64, 0, CLASS_SET_COUNT)), "stripe 0 was never used");
            assertEquals(4, readLong(path, classOffset(CLASS_64, 1, CLASS_SET_COUNT)), "the set was taken from stripe 1");
            for (int i = 1; i < blocks.length; i++) {
                blocks[i] = heap.allocate(64); // the 65th takes a second set
            }
            assertNotEquals(blocks[0] / SET_BYTES_64, blocks[64] / SET_BYTES_64, "a second set");
            assertEquals(0, readLong(path, classOffset(CLASS_64, 0, CLASS_SET_COUNT)), "stripe 1 is now the one this attachment prefers");
            for (long offset : blocks) {
                heap.free(offset);
            }
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    @Test
    void shouldShareOneStripeInASmallHeap() throws Exception {
        Path path = heaps.newPath("stripes-small");
        try (ShmHeap first = ShmHeap.create(path, STRIPED - 4096, CreateOption.SPARSE); ShmHeap second = ShmHeap.open(path)) {
            long a = first.allocate(64);
            long b = second.allocate(64);
            assertNotEquals(a / SET_BYTES_64, b / SET_BYTES_64, "each attachment owns a set");
            assertEquals(2, readLong(path, classOffset(CLASS_64, 0, CLASS_SET_COUNT)),
                    "below " + STRIPED + " bytes both attachments take their sets from the one stripe");
            assertEquals(2, first.stats().sizeClass(64).sets());
            first.free(b);
            second.free(a);
            assertTrue(first.verify().ok(), first.verify().toString());
        }
    }

    @Test
    void shouldNameTheStripeInHeaderDiagnostics() {
        assertEquals("lock of class 64 stripe 1", HeaderDescriptor.fieldAt(classOffset(CLASS_64, 1, CLASS_LOCK)));
        assertEquals("state of class 128 stripe 0", HeaderDescriptor.fieldAt(classOffset(1, 0, CLASS_PARTIAL_HEAD)));
    }
}
