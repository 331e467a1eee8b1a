package dev.shmheap;

import dev.shmheap.internal.buddy.BuddyCache;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The per-attachment buddy cache (docs/design/BUDDY.md): freed 8..256 KiB blocks stay with the
 * freeing process, visible as cached bytes and as CACHED blocks, and come back on trim, close,
 * a request that would fail, and the death of their process.
 */
class BuddyCacheTest {
    private static final long CAPACITY = 4L << 20; // cache bound: 64 KiB
    private Path path;

    @BeforeEach
    void create() throws Exception {
        path = TestHeaps.newPath("buddy-cache");
        ShmHeap.create(path, CAPACITY).close();
    }

    @AfterEach
    void delete() throws Exception {
        TestHeaps.delete(path);
    }

    @Test
    void freedBlockIsCountedAsCachedAndHandedOutAgainByTheSameProcess() throws Exception {
        try (ShmHeap heap = ShmHeap.open(path)) {
            long block = heap.allocate(16384);
            HeapStats before = heap.stats();
            heap.free(block);
            HeapStats cached = heap.stats();
            assertEquals(before.cachedBytes() + 16384, cached.cachedBytes());
            assertTrue(before.cachedBytes() > 0, "the miss took a few more blocks of its order in the same lock section");
            assertEquals(before.usedBytes() - 16384, cached.usedBytes());
            assertEquals(cached.totalBytes() - cached.usedBytes() - cached.cachedBytes(), cached.availableBytes());
            assertEquals(before.buddyFreeBytes(), cached.buddyFreeBytes(), "a cached block is not on the shared free lists");
            assertEquals(List.of(BlockInfo.Kind.CACHED), kindsAt(heap, block));
            assertTrue(heap.verify().ok(), heap.verify().toString());
            assertEquals(block, heap.allocate(16384), "the cached block is handed out again");
            assertEquals(before.cachedBytes(), heap.stats().cachedBytes());
            assertEquals(before.usedBytes(), heap.stats().usedBytes());
            assertTrue(heap.verify().ok());
        }
    }

    @Test
    void freeOfACachedBlockIsReportedAsNotALiveBlock() throws Exception {
        try (ShmHeap heap = ShmHeap.open(path); ShmHeap other = ShmHeap.open(path)) {
            long block = heap.allocate(8192);
            heap.free(block);
            long cachedBytes = heap.stats().cachedBytes();
            IllegalArgumentException again = assertThrows(IllegalArgumentException.class, () -> heap.free(block));
            assertTrue(again.getMessage().contains("offset " + block + " lies in the freed 8192-byte block at offset " + block
                    + ", kept in the buddy cache of process-table slot"), again.getMessage());
            assertThrows(IllegalArgumentException.class, () -> other.free(block), "another process frees a block this one cached");
            assertEquals(cachedBytes, heap.stats().cachedBytes());
            assertTrue(heap.verify().ok());
        }
    }

    @Test
    void blockFreedByAnotherProcessGoesToThatProcessesCache() throws Exception {
        try (ShmHeap heap = ShmHeap.open(path); ShmHeap other = ShmHeap.open(path)) {
            long block = heap.allocate(32768);
            long cachedBytes = heap.stats().cachedBytes();
            other.free(block);
            assertEquals(cachedBytes + 32768, heap.stats().cachedBytes());
            assertEquals(block, other.allocate(32768));
            assertNotEquals(block, heap.allocate(32768), "the first attachment's requests do not see the other's cache");
        }
    }

    @Test
    void cacheStaysWithinItsBounds() throws Exception {
        try (ShmHeap heap = ShmHeap.open(path)) {
            long bound = CAPACITY / BuddyCache.CAPACITY_SHARE;
            List<Long> blocks = new ArrayList<>();
            for (int i = 0; i < 2 * BuddyCache.BLOCKS_PER_ORDER; i++) {
                blocks.add(heap.allocate(8192));
            }
            for (long block : blocks) {
                heap.free(block);
                long cached = heap.stats().cachedBytes();
                assertTrue(cached > 0 && cached <= Math.min(bound, BuddyCache.BLOCKS_PER_ORDER * 8192L), "cached " + cached);
            }
            assertEquals(0, heap.stats().usedBytes());
            assertEquals(CAPACITY - heap.stats().cachedBytes(), heap.stats().buddyFreeBytes(), "what the cache gave back is free");
            assertTrue(heap.verify().ok());
            long cached = heap.stats().cachedBytes();
            heap.free(heap.allocate(512 * 1024));
            assertEquals(cached, heap.stats().cachedBytes(), "512 KiB is never cached");
        }
    }

    @Test
    void trimAndCloseGiveTheCacheBack() throws Exception {
        try (ShmHeap heap = ShmHeap.open(path)) {
            long free = heap.stats().buddyFreeBytes();
            heap.free(heap.allocate(16384));
            heap.trim();
            assertEquals(0, heap.stats().cachedBytes());
            assertEquals(free, heap.stats().buddyFreeBytes());
            try (ShmHeap other = ShmHeap.open(path)) {
                other.free(other.allocate(65536));
                assertEquals(65536, heap.stats().cachedBytes(), "the bound leaves room for one 64 KiB block");
            }
            assertEquals(0, heap.stats().cachedBytes(), "close gave the other attachment's cache back");
            assertEquals(free, heap.stats().buddyFreeBytes());
            assertTrue(heap.verify().ok());
        }
    }

    @Test
    void requestThatWouldFailFirstGivesTheCacheBack() throws Exception {
        try (ShmHeap heap = ShmHeap.open(path)) {
            List<Long> blocks = new ArrayList<>();
            long block;
            while ((block = heap.tryAllocate(8192, ShmHeap.DEFAULT_ALIGNMENT)) != ShmHeap.NO_SPACE) {
                blocks.add(block);
            }
            long first = blocks.stream().min(Long::compare).orElseThrow();
            // two buddies: the lowest block and the one after it (the data region starts on a 16 KiB boundary of the walk)
            long pair = first + 8192;
            assertTrue(blocks.contains(pair));
            heap.free(first);
            heap.free(pair);
            assertEquals(16384, heap.stats().cachedBytes());
            long merged = heap.allocate(16384);
            assertEquals(first, merged, "the cached pair went back to the buddy and merged");
            assertEquals(0, heap.stats().cachedBytes());
            assertTrue(heap.verify().ok());
        }
    }

    @Test
    void cacheOfAProcessKilledWithSigkillGoesBackWithoutReclaimDead() throws Exception {
        Path dir = Files.createTempDirectory("shmheap-cache-");
        try (ShmHeap heap = ShmHeap.open(path)) {
            long free = heap.stats().buddyFreeBytes();
            long childCached;
            Path ready = dir.resolve("ready");
            ChildJvms.Child child = ChildJvms.start(dir, "cacher", CachingChild.class, path, ready);
            try {
                ChildJvms.awaitFiles(List.of(ready), List.of(child), TimeUnit.MINUTES.toMillis(2));
                childCached = Long.parseLong(Files.readString(ready).trim());
                assertTrue(childCached >= 8192 + 32768, "the child cached " + childCached);
                assertEquals(childCached, heap.stats().cachedBytes(), "the child's cache, seen from here");
                child.process().destroyForcibly(); // SIGKILL
                child.process().waitFor();
            } finally {
                ChildJvms.destroyAll(List.of(child));
            }
            long cachedByChild = childCached;
            VerifyReport dead = heap.verify();
            assertTrue(dead.ok(), dead.toString());
            assertTrue(dead.notes().stream().anyMatch(n -> n.fact().contains(cachedByChild + " bytes are in the buddy caches")), dead.toString());
            try (ShmHeap survivor = ShmHeap.open(path)) { // the open settles the dead slot
                HeapStats stats = survivor.stats();
                assertEquals(0, stats.cachedBytes());
                assertEquals(CachingChild.HELD, stats.usedBytes(), "the child's live block stays held: no RECLAIM_DEAD");
                assertEquals(free - CachingChild.HELD, stats.buddyFreeBytes());
                assertTrue(survivor.verify().ok(), survivor.verify().toString());
            }
        } finally {
            ChildJvms.deleteRecursively(dir);
        }
    }

    private static List<BlockInfo.Kind> kindsAt(ShmHeap heap, long offset) {
        List<BlockInfo.Kind> kinds = new ArrayList<>();
        heap.forEachBlock(b -> {
            if (b.offset() == offset) {
                kinds.add(b.kind());
            }
        });
        return kinds;
    }

    /** Child JVM: holds one 16 KiB block, frees 8 and 32 KiB into its cache, writes its cached bytes to READY_FILE (by rename), sleeps until killed. */
    public static final class CachingChild {
        static final long HELD = 16384;

        public static void main(String[] args) throws Exception {
            ShmHeap heap = ShmHeap.open(Path.of(args[0]));
            heap.allocate(HELD);
            heap.free(heap.allocate(8192));
            heap.free(heap.allocate(32768));
            Path ready = Path.of(args[1]);
            Path temp = ready.resolveSibling("ready.tmp");
            Files.writeString(temp, Long.toString(heap.stats().cachedBytes()));
            Files.move(temp, ready);
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
