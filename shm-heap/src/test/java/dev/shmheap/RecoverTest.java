package dev.shmheap;

import static dev.shmheap.TestHeaps.deadToken;
import static dev.shmheap.TestHeaps.readLong;
import static dev.shmheap.TestHeaps.writeLong;

import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.shmheap.internal.layout.HeaderDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The page map is the truth; free lists, partial lists and counters are caches that verify()
 * checks and recover() rebuilds. Locks held by dead processes are taken over. Corruption is
 * written through a FileChannel, as another process would, while no instance is mid-operation.
 */
class RecoverTest {
    private static final int CLASS_64 = 0;
    private static final int CLASS_128 = 1;
    private static final int CLASS_1024 = 4;

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @Test
    void shouldTakeOverNothingOnAHealthyHeap() throws Exception {
        Path path = heaps.newPath("recover-healthy");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            List<Long> blocks = allocateMix(heap);
            HeapStats before = heap.stats();
            RecoveryReport report = heap.recover();
            assertEquals(0, report.locksTakenOver());
            assertEquals(0, report.deadProcessesRemoved());
            assertEquals(sum(before.freeBlocksPerOrder()), report.freeBlocksRelinked(), "every free block relinked");
            HeapStats after = heap.stats();
            assertEquals(before.usedBytes(), after.usedBytes());
            assertEquals(before.buddyFreeBytes(), after.buddyFreeBytes());
            assertArrayEquals(before.freeBlocksPerOrder(), after.freeBlocksPerOrder());
            assertEquals(before.sizeClasses(), after.sizeClasses());
            assertTrue(heap.verify().ok(), heap.verify().toString());
            freeAll(heap, blocks);
        }
    }

    @Test
    void shouldRepairALostPartialListHead() throws Exception {
        Path path = heaps.newPath("recover-partial-lost");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            List<Long> blocks = allocateMix(heap);
            long used = heap.stats().usedBytes();
            writeLong(path, classOffset(CLASS_64, 0, CLASS_PARTIAL_HEAD), 0);

            expectProblem(heap, "on no partial list");
            heap.recover();
            expectHealthy(heap, used);
            // The set is found again: the next block comes from it, not from a new set.
            blocks.add(heap.allocate(64));
            assertEquals(1, heap.stats().sizeClass(64).sets());
            freeAll(heap, blocks);
        }
    }

    @Test
    void shouldRepairAPartialListHeadThatPointsAtABuddyBlock() throws Exception {
        Path path = heaps.newPath("recover-partial-wrong");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            List<Long> blocks = allocateMix(heap);
            long big = blocks.get(blocks.size() - 1); // a USED buddy block
            long used = heap.stats().usedBytes();
            long dataOffset = heap.fileLength() - heap.capacity();
            long link = ((big - dataOffset) >>> 12) + 1;
            writeLong(path, classOffset(CLASS_128, 0, CLASS_PARTIAL_HEAD), link);

            expectProblem(heap, "partial list of class 128");
            heap.recover();
            expectHealthy(heap, used);
            freeAll(heap, blocks);
        }
    }

    @Test
    void shouldRepairBuddyCounters() throws Exception {
        Path path = heaps.newPath("recover-buddy-counters");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            List<Long> blocks = allocateMix(heap);
            HeapStats before = heap.stats();
            writeLong(path, BUDDY_FREE_BYTES_OFFSET, 12_345);
            writeLong(path, BUDDY_ALLOCATED_BYTES_OFFSET, before.buddyUsedBytes() + 999_999);
            writeLong(path, freeCountOffset(3), 77);
            assertNotEquals(before.usedBytes(), heap.stats().usedBytes(), "the corrupt counter shows in the stats");

            expectProblem(heap, "buddy free bytes");
            expectProblem(heap, "buddy allocated bytes");
            expectProblem(heap, "free-block count of order 3");
            heap.recover();
            expectHealthy(heap, before.usedBytes());
            assertEquals(before.buddyFreeBytes(), heap.stats().buddyFreeBytes());
            assertArrayEquals(before.freeBlocksPerOrder(), heap.stats().freeBlocksPerOrder());
            freeAll(heap, blocks);
        }
    }

    @Test
    void shouldRepairALostFreeListHead() throws Exception {
        Path path = heaps.newPath("recover-free-list");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            List<Long> blocks = allocateMix(heap);
            HeapStats before = heap.stats();
            int order = highestNonEmptyOrder(before);
            writeLong(path, freeListHeadOffset(order), 0);
            assertTrue(heap.stats().largestFreeBlock() < before.largestFreeBlock(), "the lost block is not seen");

            expectProblem(heap, "on no free list");
            heap.recover();
            expectHealthy(heap, before.usedBytes());
            assertEquals(before.largestFreeBlock(), heap.stats().largestFreeBlock());
            freeAll(heap, blocks);
        }
    }

    @Test
    void shouldRepairAClassUsedBlocksCounter() throws Exception {
        Path path = heaps.newPath("recover-class-counter");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            List<Long> blocks = allocateMix(heap);
            long used = heap.stats().usedBytes();
            writeLong(path, classOffset(CLASS_1024, 0, CLASS_USED_BLOCKS), 1000);
            assertEquals(used + (1000 - 2) * 1024, heap.stats().usedBytes(), "the corrupt counter shows in the stats");
            writeLong(path, classOffset(CLASS_1024, 0, CLASS_SET_COUNT), 5);

            expectProblem(heap, "used blocks of class 1024");
            expectProblem(heap, "set count of class 1024");
            heap.recover();
            expectHealthy(heap, used);
            assertEquals(2, heap.stats().sizeClass(1024).usedBlocks());
            assertEquals(1, heap.stats().sizeClass(1024).sets());
            freeAll(heap, blocks);
        }
    }

    @Test
    void shouldTakeOverAClassLockOfADeadProcessOnAllocate() throws Exception {
        Path path = heaps.newPath("recover-dead-class-lock");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            List<Long> blocks = allocateMix(heap);
            long used = heap.stats().usedBytes();
            long dead = deadToken();
            writeLong(path, classOffset(CLASS_64, 0, CLASS_LOCK), dead);
            expectProblem(heap, "lock of class 64 stripe 0 is held by dead");

            blocks.add(heap.allocate(64)); // completes: the dead owner's lock is taken over
            assertEquals(0, readLong(path, classOffset(CLASS_64, 0, CLASS_LOCK)), "released after the allocation");
            expectHealthy(heap, used + 64);
            freeAll(heap, blocks);
        }
    }

    @Test
    void shouldTakeOverTheBuddyLockOfADeadProcessOnAllocate() throws Exception {
        Path path = heaps.newPath("recover-dead-buddy-lock");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            List<Long> blocks = allocateMix(heap);
            long used = heap.stats().usedBytes();
            writeLong(path, BUDDY_LOCK_OFFSET, deadToken());
            expectProblem(heap, "buddy lock is held by dead");

            blocks.add(heap.allocate(8192));
            assertEquals(0, readLong(path, BUDDY_LOCK_OFFSET));
            expectHealthy(heap, used + 8192);
            freeAll(heap, blocks);
        }
    }

    /** A process died holding the class lock halfway through a list update: the taker repairs first. */
    @Test
    void shouldRepairWhatADeadLockOwnerLeftHalfDone() throws Exception {
        Path path = heaps.newPath("recover-dead-half-done");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            List<Long> blocks = allocateMix(heap);
            long used = heap.stats().usedBytes();
            writeLong(path, classOffset(CLASS_64, 0, CLASS_LOCK), deadToken());
            writeLong(path, classOffset(CLASS_64, 0, CLASS_PARTIAL_HEAD), 0);
            writeLong(path, classOffset(CLASS_64, 0, CLASS_USED_BLOCKS), 42);

            blocks.add(heap.allocate(64));
            HeapStats stats = heap.stats();
            assertEquals(1, stats.sizeClass(64).sets(), "the partial set was found again, no new set taken");
            assertEquals(4, stats.sizeClass(64).usedBlocks());
            expectHealthy(heap, used + 64);
            freeAll(heap, blocks);
        }
    }

    @Test
    void shouldReportLocksTakenOverByRecover() throws Exception {
        Path path = heaps.newPath("recover-dead-locks");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            List<Long> blocks = allocateMix(heap);
            long used = heap.stats().usedBytes();
            long dead = deadToken();
            writeLong(path, BUDDY_LOCK_OFFSET, dead);
            writeLong(path, classOffset(CLASS_64, 0, CLASS_LOCK), dead);
            writeLong(path, classOffset(CLASS_1024, 0, CLASS_LOCK), dead);
            // The dead process is also still registered.
            writeLong(path, ProcessTable.SLOT_LENGTH * 7L + HeaderDescriptor.HEADER_LENGTH + ProcessTable.TOKEN, dead);
            assertEquals(2, heap.stats().attachedProcesses());

            RecoveryReport report = heap.recover();
            assertEquals(3, report.locksTakenOver());
            assertEquals(1, report.deadProcessesRemoved());
            assertEquals(0, readLong(path, BUDDY_LOCK_OFFSET));
            assertEquals(0, readLong(path, classOffset(CLASS_64, 0, CLASS_LOCK)));
            assertEquals(0, readLong(path, classOffset(CLASS_1024, 0, CLASS_LOCK)));
            assertEquals(1, heap.stats().attachedProcesses());
            expectHealthy(heap, used);
            assertEquals(0, heap.recover().locksTakenOver(), "nothing left to take over");
            freeAll(heap, blocks);
        }
    }

    // ---- helpers ----

    /** Slab blocks of 64, 128 and 1024 bytes and two buddy blocks, the large one last. */
    /**
     * Allocates the mix through a second attachment that then closes: its owned sets go back
     * to the partial lists with the blocks still live, so the lists and counters these tests
     * corrupt hold them (the heap's own thread owns no set yet and goes through the locks).
     */
    private static List<Long> allocateMix(ShmHeap heap) {
        List<Long> blocks = new ArrayList<>();
        try (ShmHeap other = ShmHeap.open(heap.path())) {
            for (int i = 0; i < 3; i++) {
                blocks.add(other.allocate(64));
            }
            blocks.add(other.allocate(100));
            blocks.add(other.allocate(1000));
            blocks.add(other.allocate(1000));
            blocks.add(other.allocate(5000));
            blocks.add(other.allocate(40_000));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertTrue(heap.verify().ok(), heap.verify().toString());
        return blocks;
    }

    private static void freeAll(ShmHeap heap, List<Long> blocks) {
        for (long block : blocks) {
            heap.free(block);
        }
        assertEquals(0, heap.stats().usedBytes());
        assertTrue(heap.verify().ok(), heap.verify().toString());
    }

    private static void expectProblem(ShmHeap heap, String fragment) {
        VerifyReport report = heap.verify();
        assertFalse(report.ok(), "verify missed the corruption");
        assertTrue(report.problems().stream().anyMatch(p -> p.message().contains(fragment)), "no problem mentions '" + fragment + "': " + report);
    }

    private static void expectHealthy(ShmHeap heap, long usedBytes) {
        VerifyReport report = heap.verify();
        assertTrue(report.ok(), report.toString());
        assertEquals(usedBytes, heap.stats().usedBytes(), "usedBytes");
        assertEquals(usedBytes, report.usedBytes(), "verify's recount of used bytes");
    }

    private static long sum(long[] values) {
        long total = 0;
        for (long v : values) {
            total += v;
        }
        return total;
    }

    private static int highestNonEmptyOrder(HeapStats stats) {
        long[] free = stats.freeBlocksPerOrder();
        for (int order = free.length - 1; order >= 0; order--) {
            if (free[order] > 0) {
                return order;
            }
        }
        throw new AssertionError("no free block");
    }
}
