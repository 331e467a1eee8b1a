package dev.shmheap;

import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Who holds a block, in one process with two attachments (two process-table slots): transitions, figures, errors, quota. */
class HoldersTest {
    private Path path;
    private ShmHeap a;
    private ShmHeap b;

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    @BeforeEach
    void setUp() throws IOException {
        path = heaps.newPath("holders");
        a = ShmHeap.create(path, 4 << 20);
        b = ShmHeap.open(path);
    }

    @AfterEach
    void tearDown() throws IOException {
        b.close();
        a.close();
    }

    private static ProcessHoldings of(ShmHeap heap, int slot) {
        return heap.holdings().processes().stream().filter(p -> p.slot() == slot).findFirst().orElseThrow();
    }

    @Test
    void countsEveryLiveBlockOnceByHolder() {
        long small = a.allocate(100); // 128 B
        long large = a.allocate(20_000); // 32 KiB buddy block
        long other = b.allocate(64);
        assertEquals(2, of(a, 0).blocks());
        assertEquals(128 + 32768, of(a, 0).bytes());
        assertEquals(64, of(a, 1).bytes());
        a.share(small);
        a.handOff(large);
        Holdings h = a.holdings();
        assertEquals(0, of(a, 0).blocks());
        assertEquals(128, h.sharedBytes());
        assertEquals(32768, h.handedOffBytes());
        assertEquals(a.stats().usedBytes(), h.sharedBytes() + h.handedOffBytes() + of(a, 1).bytes() + h.unattributedBytes());
        b.takeOver(large);
        assertEquals(32768 + 64, of(a, 1).bytes());
        assertEquals(0, a.holdings().handedOffBlocks());
        b.free(large);
        b.free(other);
        a.free(small); // a shared block is freed like any other
        assertEquals(0, a.stats().usedBytes());
        assertTrue(a.verify().ok());
    }

    @Test
    void refusesTransitionsThatCouldFreeWhatOthersUse() {
        long block = a.allocate(512);
        IllegalStateException held = assertThrows(IllegalStateException.class, () -> b.takeOver(block));
        assertTrue(held.getMessage().contains("offset " + block) && held.getMessage().contains("pid " + ProcessHandle.current().pid()),
                held.getMessage());
        a.share(block);
        a.share(block); // sharing twice is harmless
        assertTrue(assertThrows(IllegalStateException.class, () -> b.takeOver(block)).getMessage().contains("is shared"));
        assertTrue(assertThrows(IllegalStateException.class, () -> a.handOff(block)).getMessage().contains("is shared"));
        a.free(block);
        IllegalArgumentException freed = assertThrows(IllegalArgumentException.class, () -> a.share(block));
        assertTrue(freed.getMessage().contains("offset " + block), freed.getMessage());
        assertThrows(IllegalArgumentException.class, () -> a.handOff(block + 8));
        assertThrows(IllegalArgumentException.class, () -> b.takeOver(block));
    }

    @Test
    void bindSharesTheBlockAndCloseSharesWhatIsLeft() throws IOException {
        long named = a.allocate(64);
        a.bind("named", named);
        assertEquals(64, a.holdings().sharedBytes());
        ShmHeap c = ShmHeap.open(path);
        long left = c.allocate(2048);
        c.close();
        assertEquals(64 + 2048, a.holdings().sharedBytes(), "close() shares what the attachment still held");
        assertEquals(2, a.attachedProcesses().size(), "and frees its slot");
        a.unbind("named");
        a.free(named);
        a.free(left);
        assertTrue(a.verify().ok());
    }

    @Test
    void refusesRequestsBeyondTheQuotaNamingIt() {
        assertEquals(0, a.processQuota());
        assertThrows(IllegalArgumentException.class, () -> a.setProcessQuota(-1));
        long before = b.allocate(16384); // held before the quota is set: counted when it is
        a.setProcessQuota(64 * 1024);
        assertEquals(64 * 1024, b.processQuota(), "the quota is the heap's");
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            blocks.add(b.allocate(16384));
        }
        HeapFullException e = assertThrows(HeapFullException.class, () -> b.allocate(16384));
        assertTrue(e.getMessage().contains("per-process quota of 65536 bytes") && e.getMessage().contains("holds 65536"), e.getMessage());
        assertEquals(ShmHeap.NO_SPACE, b.tryAllocate(64, 8));
        long mine = a.allocate(16384); // another process (slot) is not affected
        b.share(blocks.get(0)); // giving a block up makes room
        blocks.set(0, b.allocate(16384));
        a.free(blocks.get(1)); // so does another process freeing one of its blocks (found by the recount)
        blocks.set(1, b.allocate(16384));
        a.setProcessQuota(0);
        blocks.add(b.allocate(16384));
        a.free(mine);
        b.free(before);
        for (long block : blocks) {
            b.free(block);
        }
        assertEquals(16384, a.stats().usedBytes(), "the shared and since freed block's replacement is all that is left");
    }

    @Test
    void aFullProcessTableFreesTheSlotsOfTheDeadThatHoldNothing() throws Exception {
        List<ShmHeap> fillers = new ArrayList<>();
        try {
            for (int slot = 2; slot < ProcessTable.SLOT_COUNT; slot++) {
                fillers.add(ShmHeap.open(path));
            }
            fillers.get(3).allocate(4096); // slot 5 holds a block
            ShmHeapException full = assertThrows(ShmHeapException.class, () -> ShmHeap.open(path));
            assertTrue(full.getMessage().contains("process table is full: 128 slots, 0 of them"), full.getMessage());
            TestHeaps.writeLong(path, slotToken(5), TestHeaps.deadToken());
            full = assertThrows(ShmHeapException.class, () -> ShmHeap.open(path));
            assertTrue(full.getMessage().contains("1 of them held by processes that no longer run but still hold blocks"), full.getMessage());
            TestHeaps.writeLong(path, slotToken(6), TestHeaps.deadToken()); // slot 6 holds nothing
            try (ShmHeap next = ShmHeap.open(path)) {
                assertEquals(ProcessHandle.current().pid(), TestHeaps.readLong(path, slotToken(6)) >>> 32, "slot 6 went to the new attachment");
                assertEquals(4096, next.holdings().deadBytes(), "slot 5's block is kept and reported");
            }
        } finally {
            for (ShmHeap filler : fillers) {
                filler.close();
            }
        }
    }

    private static long slotToken(int slot) {
        return dev.shmheap.internal.layout.HeaderDescriptor.HEADER_LENGTH + (long) slot * ProcessTable.SLOT_LENGTH + ProcessTable.TOKEN;
    }
}
