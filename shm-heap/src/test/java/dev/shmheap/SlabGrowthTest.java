package dev.shmheap;

import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** A slab class grows by whole sets of 64 blocks taken from the buddy allocator. */
class SlabGrowthTest {
    private static final int[] CLASSES = {64, 128, 256, 512, 1024, 2048, 4096};

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @Test
    void shouldTakeASecondSetOnThe65thAllocationOfEveryClass() throws Exception {
        Path path = heaps.newPath("growth");
        try (ShmHeap heap = ShmHeap.create(path, 4 << 20)) {
            for (int c : CLASSES) {
                long setBytes = 64L * c;
                HeapStats start = heap.stats();
                assertEquals(0, start.sizeClass(c).sets(), "class " + c);

                List<Long> blocks = new ArrayList<>();
                blocks.add(heap.allocate(c));
                HeapStats one = heap.stats();
                assertEquals(1, one.sizeClass(c).sets(), "class " + c);
                assertEquals(64, one.sizeClass(c).totalBlocks(), "class " + c);
                assertEquals(start.buddyFreeBytes() - setBytes, one.buddyFreeBytes(), "class " + c + ": the first set comes from the buddy");
                assertEquals(start.buddyAllocations() + 1, one.buddyAllocations(), "class " + c);

                for (int i = 1; i < 64; i++) {
                    blocks.add(heap.allocate(c));
                }
                HeapStats full = heap.stats();
                assertEquals(1, full.sizeClass(c).sets(), "class " + c + ": 64 blocks fit one set");
                assertEquals(64, full.sizeClass(c).usedBlocks(), "class " + c);
                assertEquals(one.buddyFreeBytes(), full.buddyFreeBytes(), "class " + c + ": no buddy traffic inside a set");
                assertEquals(one.buddyAllocations(), full.buddyAllocations(), "class " + c);

                blocks.add(heap.allocate(c));
                HeapStats two = heap.stats();
                assertEquals(2, two.sizeClass(c).sets(), "class " + c + ": the 65th block needs a second set");
                assertEquals(128, two.sizeClass(c).totalBlocks(), "class " + c);
                assertEquals(65, two.sizeClass(c).usedBlocks(), "class " + c);
                assertEquals(full.buddyFreeBytes() - setBytes, two.buddyFreeBytes(), "class " + c + ": the second set is 64*C bytes");
                assertEquals(full.buddyAllocations() + 1, two.buddyAllocations(), "class " + c);
                assertEquals(2 * setBytes, two.sizeClass(c).totalBytes(), "class " + c);
                // Sets are not user blocks: only the 65 blocks count as used.
                assertEquals(start.usedBytes() + 65L * c, two.usedBytes(), "class " + c);

                List<BlockInfo> sets = setsOf(heap, c);
                assertEquals(2, sets.size(), "class " + c + ": " + sets);
                List<Integer> used = new ArrayList<>();
                for (BlockInfo set : sets) {
                    assertEquals(setBytes, set.length(), "class " + c);
                    assertEquals(c, set.slabBlockSize());
                    assertEquals(0, (set.offset() - (heap.fileLength() - heap.capacity())) % setBytes, "a set is a buddy block of its size");
                    used.add(set.slabUsedBlocks());
                }
                used.sort(null);
                assertEquals(List.of(1, 64), used, "class " + c);
                for (long block : blocks) {
                    assertTrue(sets.stream().anyMatch(s -> block >= s.offset() && block < s.offset() + s.length()),
                            "block " + block + " of class " + c + " lies in one of its sets");
                }

                for (long block : blocks) {
                    heap.free(block);
                }
                assertEquals(0, heap.stats().sizeClass(c).usedBlocks());
                assertEquals(2 * setBytes, heap.trim(), "class " + c);
            }
            HeapStats end = heap.stats();
            assertEquals(heap.capacity(), end.buddyFreeBytes());
            assertEquals(0, end.usedBytes());
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    @Test
    void shouldShowSlabSetsInForEachBlockNextToBuddyBlocks() throws Exception {
        Path path = heaps.newPath("growth-walk");
        try (ShmHeap heap = ShmHeap.create(path, 1 << 20)) {
            for (int i = 0; i < 3; i++) {
                heap.allocate(100); // class 128
            }
            long big = heap.allocate(20_000); // buddy, 32 KiB
            List<BlockInfo> all = new ArrayList<>();
            heap.forEachBlock(all::add);

            long covered = 0;
            long expectedOffset = heap.fileLength() - heap.capacity();
            int slabSets = 0;
            int used = 0;
            for (BlockInfo block : all) {
                assertEquals(expectedOffset, block.offset(), "blocks are visited in address order without gaps: " + all);
                expectedOffset += block.length();
                covered += block.length();
                switch (block.kind()) {
                    case SLAB_SET -> {
                        slabSets++;
                        assertEquals(128, block.slabBlockSize());
                        assertEquals(3, block.slabUsedBlocks());
                        assertEquals(64 * 128, block.length());
                    }
                    case USED -> {
                        used++;
                        assertEquals(big, block.offset());
                        assertEquals(32 * 1024, block.length());
                        assertEquals(0, block.slabBlockSize());
                        assertEquals(0, block.slabUsedBlocks());
                    }
                    case FREE -> {
                        assertEquals(0, block.slabBlockSize());
                        assertEquals(0, block.slabUsedBlocks());
                    }
                }
            }
            assertEquals(heap.capacity(), covered);
            assertEquals(1, slabSets);
            assertEquals(1, used);
        }
    }

    private static List<BlockInfo> setsOf(ShmHeap heap, int blockSize) {
        List<BlockInfo> sets = new ArrayList<>();
        heap.forEachBlock(block -> {
            if (block.kind() == BlockInfo.Kind.SLAB_SET && block.slabBlockSize() == blockSize) {
                sets.add(block);
            }
        });
        return sets;
    }
}
