package dev.shmheap;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * totalBytes = capacity; usedBytes = used slab blocks x C + buddy bytes handed to users;
 * availableBytes = total - used; the figures live in the file, so every instance sees them.
 */
class StatsTest {
    private static final long KIB = 1024;

    @Test
    void shouldReportAFreshHeap() throws Exception {
        Path path = TestHeaps.newPath("stats-fresh");
        try (ShmHeap heap = ShmHeap.create(path, 4 << 20)) {
            HeapStats stats = heap.stats();
            assertEquals(heap.capacity(), stats.totalBytes());
            assertEquals(0, stats.usedBytes());
            assertEquals(heap.capacity(), stats.availableBytes());
            assertEquals(heap.capacity(), stats.buddyFreeBytes());
            assertEquals(0, stats.buddyUsedBytes());
            assertEquals(0, stats.buddyAllocations());
            assertEquals(0, stats.buddyFrees());
            assertEquals(7, stats.sizeClasses().size());
            for (SizeClassStats c : stats.sizeClasses()) {
                assertEquals(new SizeClassStats(c.blockSize(), 0, 0, 0, 0, 0), c);
            }
            assertEquals(1, stats.attachedProcesses());
        } finally {
            TestHeaps.delete(path);
        }
    }

    @Test
    void shouldFollowTheFormulasAfterAKnownSequence() throws Exception {
        Path path = TestHeaps.newPath("stats-formulas");
        try (ShmHeap heap = ShmHeap.create(path, 4 << 20)) {
            long capacity = heap.capacity();
            assertEquals(4L << 20, capacity);
            long s1 = heap.allocate(1);            // class 64
            long s33 = heap.allocate(33);          // class 64
            long s64 = heap.allocate(64);          // class 64
            long s100 = heap.allocate(100);        // class 128
            long p1 = heap.allocate(3000);         // class 4096
            long p2 = heap.allocate(2049);         // class 4096
            long b5000 = heap.allocate(5000);      // buddy, 8 KiB
            long b70000 = heap.allocate(70_000);   // buddy, 128 KiB
            long aligned = heap.allocate(64, 8192); // buddy, 8 KiB

            long slabUsed = 3 * 64 + 128 + 2 * 4096;
            long buddyUsed = 8 * KIB + 128 * KIB + 8 * KIB;
            long setBytes = 64 * 64 + 64 * 128 + 64 * 4096;
            HeapStats stats = heap.stats();
            assertEquals(capacity, stats.totalBytes());
            assertEquals(slabUsed + buddyUsed, stats.usedBytes());
            // the first 8 KiB miss took 4 spare 8 KiB blocks into this process's buddy cache in the same
            // lock section (half the room of its 64 KiB bound); the aligned request took one of them
            long cached = stats.cachedBytes();
            assertEquals(24 * KIB, cached);
            assertEquals(capacity - slabUsed - buddyUsed - cached, stats.availableBytes());
            assertEquals(buddyUsed, stats.buddyUsedBytes());
            assertEquals(capacity - setBytes - buddyUsed - cached, stats.buddyFreeBytes());
            assertEquals(3 + 3, stats.buddyAllocations(), "three sets and three user blocks");
            assertEquals(new SizeClassStats(64, 1, 64, 3, 3, 0), stats.sizeClass(64));
            assertEquals(new SizeClassStats(128, 1, 64, 1, 1, 0), stats.sizeClass(128));
            assertEquals(new SizeClassStats(4096, 1, 64, 2, 2, 0), stats.sizeClass(4096));
            for (int c : new int[] {256, 512, 1024, 2048}) {
                assertEquals(new SizeClassStats(c, 0, 0, 0, 0, 0), stats.sizeClass(c));
            }
            long perClass = stats.sizeClasses().stream().mapToLong(SizeClassStats::usedBytes).sum();
            assertEquals(stats.usedBytes(), perClass + stats.buddyUsedBytes(), "usedBytes = sum of class used bytes + buddy used bytes");
            VerifyReport report = heap.verify();
            assertTrue(report.ok(), report.toString());
            assertEquals(stats.usedBytes(), report.usedBytes(), "verify's recount agrees");

            heap.free(s33);
            heap.free(b5000);
            heap.free(p2);
            HeapStats after = heap.stats();
            long slabUsedAfter = 2 * 64 + 128 + 4096;
            long buddyUsedAfter = 128 * KIB + 8 * KIB;
            assertEquals(slabUsedAfter + buddyUsedAfter, after.usedBytes());
            // the freed 8 KiB buddy block waits in this process's buddy cache: neither used nor available
            assertEquals(cached + 8 * KIB, after.cachedBytes());
            assertEquals(capacity - slabUsedAfter - buddyUsedAfter - after.cachedBytes(), after.availableBytes());
            assertEquals(capacity, after.totalBytes());
            assertEquals(new SizeClassStats(64, 1, 64, 2, 3, 1), after.sizeClass(64));
            assertEquals(new SizeClassStats(4096, 1, 64, 1, 2, 1), after.sizeClass(4096));
            assertEquals(1, after.buddyFrees());
            assertEquals(stats.buddyFreeBytes(), after.buddyFreeBytes(), "a cached block is not on the free lists");

            for (long block : new long[] {s1, s64, s100, p1, b70000, aligned}) {
                heap.free(block);
            }
            HeapStats end = heap.stats();
            assertEquals(0, end.usedBytes());
            // the aligned block joins them; 128 KiB is above this heap's cache bound (capacity / 64)
            assertEquals(after.cachedBytes() + 8 * KIB, end.cachedBytes());
            assertEquals(capacity - end.cachedBytes(), end.availableBytes());
            assertEquals(capacity - setBytes - end.cachedBytes(), end.buddyFreeBytes(), "empty sets stay with their classes");
        } finally {
            TestHeaps.delete(path);
        }
    }

    @Test
    void shouldShowTheSameFiguresInEveryInstance() throws Exception {
        Path path = TestHeaps.newPath("stats-shared");
        try (ShmHeap first = ShmHeap.create(path, 4 << 20)) {
            long a = first.allocate(100);
            long b = first.allocate(20_000);
            long c = first.allocate(1000);
            try (ShmHeap second = ShmHeap.open(path)) {
                assertSameFigures(first.stats(), second.stats());
                assertEquals(128 + 32 * KIB + 1024, first.stats().usedBytes());

                // Work done through one instance shows in the other.
                long d = second.allocate(64);
                long e = second.allocate(9000);
                second.free(a); // allocated by the first instance
                HeapStats viaFirst = first.stats();
                assertSameFigures(viaFirst, second.stats());
                assertEquals(64 + 16 * KIB + 32 * KIB + 1024, viaFirst.usedBytes());
                assertEquals(1, viaFirst.sizeClass(128).frees());
                assertEquals(64, first.usableSize(d));

                first.free(d);
                first.free(e);
                second.free(b);
                second.free(c);
                assertSameFigures(first.stats(), second.stats());
                assertEquals(0, second.stats().usedBytes());
            }
            assertEquals(0, first.stats().usedBytes());
        } finally {
            TestHeaps.delete(path);
        }
    }

    @Test
    void shouldCountAttachedInstances() throws Exception {
        Path path = TestHeaps.newPath("stats-attached");
        try (ShmHeap first = ShmHeap.create(path, 1 << 20)) {
            assertEquals(1, first.stats().attachedProcesses());
            assertEquals(1, first.attachedProcesses().size());
            ShmHeap second = ShmHeap.open(path);
            try {
                assertEquals(2, first.stats().attachedProcesses());
                assertEquals(2, second.stats().attachedProcesses());
                assertEquals(2, first.attachedProcesses().size());
                for (AttachedProcess p : second.attachedProcesses()) {
                    assertEquals(ProcessHandle.current().pid(), p.pid());
                    assertTrue(p.alive());
                }
            } finally {
                second.close();
            }
            assertEquals(1, first.stats().attachedProcesses());
            assertEquals(1, first.attachedProcesses().size());
            second.close(); // closing twice is harmless and does not deregister the first instance
            assertEquals(1, first.stats().attachedProcesses());
        } finally {
            TestHeaps.delete(path);
        }
    }

    private static void assertSameFigures(HeapStats expected, HeapStats actual) {
        assertEquals(expected.totalBytes(), actual.totalBytes(), "totalBytes");
        assertEquals(expected.usedBytes(), actual.usedBytes(), "usedBytes");
        assertEquals(expected.availableBytes(), actual.availableBytes(), "availableBytes");
        assertEquals(expected.buddyFreeBytes(), actual.buddyFreeBytes(), "buddyFreeBytes");
        assertEquals(expected.buddyUsedBytes(), actual.buddyUsedBytes(), "buddyUsedBytes");
        assertEquals(expected.largestFreeBlock(), actual.largestFreeBlock(), "largestFreeBlock");
        assertArrayEquals(expected.freeBlocksPerOrder(), actual.freeBlocksPerOrder(), "freeBlocksPerOrder");
        assertEquals(expected.buddyAllocations(), actual.buddyAllocations(), "buddyAllocations");
        assertEquals(expected.buddyFrees(), actual.buddyFrees(), "buddyFrees");
        assertEquals(expected.sizeClasses(), actual.sizeClasses(), "sizeClasses");
        assertEquals(expected.attachedProcesses(), actual.attachedProcesses(), "attachedProcesses");
    }
}
