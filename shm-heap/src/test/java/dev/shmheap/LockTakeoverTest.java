package dev.shmheap;

import dev.shmheap.internal.layout.HeaderDescriptor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A lock taken over from a dead holder is counted in the heap and reported to the attachment's
 * listener once the lock has been repaired and released, never while it is held.
 */
class LockTakeoverTest {
    private static final long CLASS_64_LOCK = HeaderDescriptor.classOffset(0, 0, HeaderDescriptor.CLASS_LOCK);
    private final Path path = TestHeaps.newPath("takeover");

    @AfterEach
    void deleteHeap() throws IOException {
        TestHeaps.delete(path);
    }

    @Test
    void shouldReportATakeoverToTheListenerAfterTheLockIsReleased() throws Exception {
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            heap.free(heap.allocate(64));
            List<LockTakeover> seen = new ArrayList<>();
            List<Long> lockWordWhenTold = new ArrayList<>();
            heap.onLockTakeover(t -> {
                seen.add(t);
                lockWordWhenTold.add(readLock());
            });
            long dead = TestHeaps.deadToken();
            TestHeaps.writeLong(path, CLASS_64_LOCK, dead);
            long before = System.nanoTime();
            heap.trim(); // takes every class lock, so it finds class 64's holder dead

            assertEquals(1, seen.size(), seen::toString);
            LockTakeover t = seen.get(0);
            assertEquals(path, t.heap());
            assertEquals(dead, t.deadOwnerToken());
            assertEquals(dead >>> 32, t.deadPid());
            assertFalse(t.markedForRepair());
            assertTrue(t.lock().startsWith("lock of class 64 stripe 0 of " + path), t.lock());
            assertTrue(t.atNanos() >= before && t.atNanos() <= System.nanoTime(), t::toString);
            assertEquals(List.of(0L), lockWordWhenTold, "the listener is told after the lock was released");
            assertEquals(1, heap.stats().lockTakeovers());
            assertTrue(heap.verify().ok(), heap.verify().toString());

            heap.onLockTakeover(null);
            TestHeaps.writeLong(path, CLASS_64_LOCK, dead);
            heap.trim();
            assertEquals(1, seen.size(), "a removed listener hears nothing");
            assertEquals(2, heap.stats().lockTakeovers(), "the heap counts every takeover");
        }
    }

    @Test
    void shouldKeepTheOperationWhenTheListenerThrows() throws Exception {
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            heap.onLockTakeover(t -> {
                throw new IllegalStateException("listener bug");
            });
            TestHeaps.writeLong(path, CLASS_64_LOCK, TestHeaps.deadToken());
            long block = heap.allocate(64); // the first set of class 64 is taken under its lock
            heap.free(block);
            assertEquals(1, heap.stats().lockTakeovers());
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    private long readLock() {
        try {
            return TestHeaps.readLong(path, CLASS_64_LOCK);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
