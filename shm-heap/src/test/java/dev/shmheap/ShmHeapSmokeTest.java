package dev.shmheap;

import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class ShmHeapSmokeTest {
    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @Test
    void shouldAllocateAndFree() throws Exception {
        Path path = heaps.newPath("smoke");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            long a = heap.allocate(64);
            long b = heap.allocate(5000);
            heap.putLong(a, 7);
            byte[] bytes = {1, 2, 3, 4};
            heap.putBytes(b + 3, bytes, 0, 4);
            byte[] back = new byte[4];
            heap.getBytes(b + 3, back, 0, 4);
            assertArrayEquals(bytes, back);
            assertEquals(7, heap.getLong(a));
            System.out.println(heap.stats());
            VerifyReport r = heap.verify();
            System.out.println(r);
            assertTrue(r.ok(), r.toString());
            heap.free(a);
            heap.free(b);
            assertEquals(0, heap.stats().usedBytes());
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }
}
