package dev.shmheap;

import dev.shmheap.testkit.BlockPattern;
import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The pattern checker finds each kind of overwrite it claims to cover, and only those. */
class BlockPatternTest {

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @Test
    void shouldFindAnOverwriteInEachCoveredPartOfABlock() throws Exception {
        Path path = heaps.newPath("pattern");
        try (ShmHeap heap = ShmHeap.create(path, 1L << 20)) {
            long base = BlockPattern.base(7, 42);
            // a small block: every word, the tail bytes, the last word of the usable size
            long small = heap.allocate(100);
            long smallUsable = heap.usableSize(small);
            BlockPattern.write(heap, small, 100, smallUsable, base);
            assertNull(BlockPattern.check(heap, small, 100, smallUsable, base));
            assertNotNull(BlockPattern.check(heap, small, 100, smallUsable, BlockPattern.base(7, 43)), "another seq");
            for (long at : new long[] {0, 48, 96, 99, smallUsable - 8}) {
                byte was = heap.getByte(small + at);
                heap.putByte(small + at, (byte) ~was);
                String problem = BlockPattern.check(heap, small, 100, smallUsable, base);
                assertNotNull(problem, "byte " + at + " changed");
                assertTrue(problem.contains("offset " + small), problem);
                heap.putByte(small + at, was);
            }
            // a large block: sparse, one word per page and the last whole word
            long size = 3 * 4096 + 20;
            long large = heap.allocate(size);
            long largeUsable = heap.usableSize(large);
            BlockPattern.write(heap, large, size, largeUsable, base);
            assertNull(BlockPattern.check(heap, large, size, largeUsable, base));
            for (long at : new long[] {0, 4096, 2 * 4096, (size / 8 - 1) * 8, size - 1, largeUsable - 8}) {
                byte was = heap.getByte(large + at);
                heap.putByte(large + at, (byte) ~was);
                assertNotNull(BlockPattern.check(heap, large, size, largeUsable, base), "byte " + at + " of the large block changed");
                heap.putByte(large + at, was);
            }
            heap.putLong(large + 8, 0);
            assertNull(BlockPattern.check(heap, large, size, largeUsable, base), "a word between the sampled ones is not covered");
        }
    }

    @Test
    void shouldRejectOwnersThatDoNotFitAndDescribeABase() {
        assertThrows(IllegalArgumentException.class, () -> BlockPattern.base(0, 1));
        assertThrows(IllegalArgumentException.class, () -> BlockPattern.base(BlockPattern.MAX_OWNER + 1, 1));
        assertEquals("owner 65535 seq 5", BlockPattern.describe(BlockPattern.base(BlockPattern.MAX_OWNER, 5)));
    }
}
