package dev.shmheap;

import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Owned sets seen through {@link ShmHeap}: a thread allocates from its own set, a free from
 * another thread or attachment is remote and counted at once, an ended thread's sets go back,
 * and a dead owner's sets are adopted by recover() and by the next holder of its slot.
 */
class OwnedSetsTest {
    private static final long CAPACITY = 1 << 20;

    private static long slotToken(int slot) {
        return HeaderDescriptor.HEADER_LENGTH + (long) ProcessTable.SLOT_LENGTH * slot + ProcessTable.TOKEN;
    }

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @Test
    void ownersOnOneStripeNeverShareAPageMapLine() throws Exception {
        Path path = TestHeaps.newPath("owned-lines");
        try (ShmHeap first = ShmHeap.create(path, dev.shmheap.internal.layout.HeapLayout.STRIPED_MIN_CAPACITY);
             ShmHeap otherStripe = ShmHeap.open(path);
             ShmHeap sameStripe = ShmHeap.open(path)) {
            long data = first.fileLength() - first.capacity();
            long a = first.allocate(64);
            otherStripe.allocate(64);
            long b = sameStripe.allocate(64);
            long pageA = (a - data) / 4096;
            long pageB = (b - data) / 4096;
            // 32-byte page-map entries: pages 2k and 2k+1 share a 64-byte line
            assertNotEquals(pageA / 2, pageB / 2, "sets at pages " + pageA + " and " + pageB + " of two owners share a page-map line");
            assertTrue(first.verify().ok(), first.verify().toString());
        } finally {
            TestHeaps.delete(path);
        }
    }

    @Test
    void shouldCountARemoteFreeFromAnotherThreadAtOnce() throws Exception {
        Path path = heaps.newPath("owned-remote");
        try (ShmHeap heap = ShmHeap.create(path, CAPACITY)) {
            AtomicLong block = new AtomicLong();
            Thread owner = new Thread(() -> block.set(heap.allocate(64)));
            owner.start();
            owner.join();
            assertEquals(1, heap.stats().sizeClass(64).usedBlocks(), "the owner's set counts through the registry");
            heap.free(block.get()); // not this thread's set: one CAS on its R word
            assertEquals(0, heap.stats().sizeClass(64).usedBlocks());
            assertEquals(1, heap.stats().sizeClass(64).allocations());
            assertEquals(1, heap.stats().sizeClass(64).frees());
            assertThrows(IllegalArgumentException.class, () -> heap.free(block.get()), "a second remote free is a double free");
            VerifyReport report = heap.verify();
            assertTrue(report.ok(), report.toString());
        }
    }

    @Test
    void shouldGiveBackTheSetsOfAnEndedThreadOnTrim() throws Exception {
        Path path = heaps.newPath("owned-ended-thread");
        try (ShmHeap heap = ShmHeap.create(path, CAPACITY)) {
            Thread worker = new Thread(() -> {
                List<Long> blocks = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    blocks.add(heap.allocate(64 << (i % 3)));
                }
                blocks.forEach(heap::free);
            });
            worker.start();
            worker.join();
            assertEquals(0, heap.stats().usedBytes());
            assertTrue(heap.stats().buddyFreeBytes() < heap.capacity(), "the ended thread still owns its three sets");
            heap.trim();
            assertEquals(heap.capacity(), heap.stats().buddyFreeBytes(), "the ended thread's sets went back and merged");
            VerifyReport report = heap.verify();
            assertTrue(report.ok(), report.toString());
        }
    }

    @Test
    void shouldAdoptADeadOwnersSetsOnRecover() throws Exception {
        Path path = heaps.newPath("owned-recover");
        try (ShmHeap heap = ShmHeap.create(path, CAPACITY); ShmHeap doomed = ShmHeap.open(path)) {
            long a = doomed.allocate(64);
            long b = doomed.allocate(64);
            doomed.allocate(256);
            heap.free(a); // pending in R of the doomed attachment's set
            long used = heap.stats().usedBytes();
            TestHeaps.writeLong(path, slotToken(1), TestHeaps.deadToken());
            VerifyReport before = heap.verify();
            assertTrue(before.ok(), before.toString());
            assertTrue(before.notes().stream().anyMatch(n -> n.fact().contains("owned by processes that no longer run")), before.toString());

            heap.recover();
            VerifyReport after = heap.verify();
            assertTrue(after.ok(), after.toString());
            assertTrue(after.notes().stream().noneMatch(n -> n.fact().contains("owned by processes")), after.toString());
            assertEquals(used, heap.stats().usedBytes(), "adoption keeps the dead owner's blocks allocated");
            heap.free(b); // now a locked free into an unowned set
            assertEquals(used - 64, heap.stats().usedBytes());
        }
    }

    @Test
    void shouldReleaseTheSetsOfADeadOwnerWhenAProcessOpensTheHeap() throws Exception {
        Path path = heaps.newPath("owned-dead-owner");
        try (ShmHeap heap = ShmHeap.create(path, CAPACITY); ShmHeap doomed = ShmHeap.open(path)) {
            doomed.allocate(64);
            long used = heap.stats().usedBytes();
            long partialHead = HeaderDescriptor.classOffset(0, 0, HeaderDescriptor.CLASS_PARTIAL_HEAD);
            assertEquals(0, TestHeaps.readLong(path, partialHead), "the only 64 B set is owned, on no list");
            long dead = TestHeaps.deadToken();
            TestHeaps.writeLong(path, slotToken(1), dead);
            try (ShmHeap next = ShmHeap.open(path)) {
                VerifyReport report = next.verify();
                assertTrue(report.ok(), report.toString());
                assertTrue(report.notes().stream().noneMatch(n -> n.fact().contains("owned by processes")), report.toString());
                assertEquals(used, next.stats().usedBytes(), "the released set's block stays allocated (no RECLAIM_DEAD)");
                assertNotEquals(0, TestHeaps.readLong(path, partialHead), "the open released the set the dead process owned");
                assertEquals(List.of(64L), report.deadHoldings().stream().map(ProcessHoldings::bytes).toList(),
                        "the dead process's block is reported, kept");
                assertEquals(dead, TestHeaps.readLong(path, slotToken(1)), "its slot stays while it holds a block");
                assertEquals(64, next.reclaimDead().reclaimedBytes());
                assertEquals(0, TestHeaps.readLong(path, slotToken(1)), "reclaimed: the slot is free again");
            }
        }
    }
}
