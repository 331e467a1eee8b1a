package dev.shmheap;

import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.PageMapEntry;
import dev.shmheap.testkit.HeapDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.function.Executable;

import java.nio.file.Files;
import java.nio.file.Path;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link HeapObserver}: serves the observing calls, has no mutating ones, writes no byte, and
 * its lock-free verify never reports an operation in flight as a problem. Problems are records
 * with a kind and a file offset.
 */
class HeapObserverTest {
    private static final long CAPACITY = 1 << 20;

    @RegisterExtension
    final HeapDirectory heaps = new HeapDirectory();

    private Path newHeap() throws Exception {
        Path path = heaps.newPath("readonly");
        try (ShmHeap heap = ShmHeap.create(path, CAPACITY)) {
            long small = heap.allocate(100);
            heap.putLong(small, 42);
            heap.bind("answer", small);
            heap.allocate(10_000);
        }
        return path;
    }

    static String sha256(Path path) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(path)));
    }

    @Test
    void shouldServeObservingCallsWithoutChangingAByte() throws Exception {
        Path path = newHeap();
        String before = sha256(path);
        try (HeapObserver heap = HeapObserver.open(path)) {
            HeapStats stats = heap.stats();
            assertEquals(CAPACITY, stats.totalBytes());
            assertEquals(128 + 16384, stats.usedBytes());
            assertEquals(0, stats.attachedProcesses(), "a read-only heap must not register");
            assertTrue(heap.attachedProcesses().isEmpty());
            VerifyReport report = heap.verify();
            assertTrue(report.ok(), report::toString);
            assertEquals(stats.usedBytes(), report.usedBytes());
            List<BlockInfo> blocks = new ArrayList<>();
            heap.forEachBlock(blocks::add);
            assertEquals(CAPACITY, blocks.stream().mapToLong(BlockInfo::length).sum());
            Map<String, Long> names = heap.names();
            long small = names.get("answer");
            assertEquals(small, heap.lookup("answer").orElseThrow());
            assertEquals(42, heap.getLong(small));
            assertEquals(128, heap.usableSize(small));
            assertTrue(small >= heap.dataOffset() && small < heap.dataOffset() + heap.capacity());
        }
        assertEquals(before, sha256(path), "the read-only heap changed the file");
    }

    @Test
    void shouldObserveASparseHeapWithoutTouchingItsHoles() throws Exception {
        Path path = heaps.newPath("readonly-sparse");
        try (ShmHeap heap = ShmHeap.create(path, 64L << 20, CreateOption.SPARSE)) {
            heap.allocate(64);
            heap.allocate(3 << 20);
        }
        String before = sha256(path);
        try (HeapObserver heap = HeapObserver.open(path)) {
            VerifyReport report = heap.verify();
            assertTrue(report.ok(), report::toString);
            assertEquals(64 + (4L << 20), report.usedBytes());
            List<BlockInfo> blocks = new ArrayList<>();
            heap.forEachBlock(blocks::add);
            assertEquals(64L << 20, blocks.stream().mapToLong(BlockInfo::length).sum());
        }
        assertEquals(before, sha256(path));
    }

    /** What an observer may do: read. Every public method it declares must be one of these. */
    private static final Set<String> READS = Set.of("open", "path", "capacity", "dataOffset", "fileLength", "largestBlockSize",
            "reclaimsDead", "processQuota", "stats", "attachedProcesses", "holdings", "usableSize", "verify", "forEachBlock", "names",
            "lookup", "getLong", "getLongVolatile", "getInt", "getByte", "getBytes", "close", "toString");

    @Test
    void shouldHaveNoMutatingCall() throws Exception {
        List<String> others = Arrays.stream(HeapObserver.class.getDeclaredMethods())
                .filter(m -> Modifier.isPublic(m.getModifiers()) && !READS.contains(m.getName())).map(Method::getName).toList();
        assertEquals(List.of(), others, "an observer only reads");
        for (String mutator : List.of("allocate", "tryAllocate", "free", "trim", "recover", "bind", "unbind", "putLong", "address")) {
            assertTrue(Arrays.stream(HeapObserver.class.getMethods()).noneMatch(m -> m.getName().equals(mutator)), mutator);
        }
        Path path = newHeap();
        String before = sha256(path);
        try (HeapObserver heap = HeapObserver.open(path)) {
            long small = heap.lookup("answer").orElseThrow();
            assertEquals(42, heap.getLong(small));
        }
        assertEquals(before, sha256(path));
    }

    @Test
    void shouldRefuseEveryCallAfterClose() throws Exception {
        Path path = newHeap();
        HeapObserver heap = HeapObserver.open(path);
        long small = heap.lookup("answer").orElseThrow();
        heap.close();
        heap.close(); // a second close does nothing
        List<Executable> calls = List.of(heap::stats, heap::verify, heap::names, () -> heap.lookup("answer"), () -> heap.getLong(small),
                () -> heap.usableSize(small), heap::attachedProcesses, () -> heap.forEachBlock(b -> { }));
        for (Executable call : calls) {
            IllegalStateException e = assertThrows(IllegalStateException.class, call);
            assertEquals("heap " + path + " is closed", e.getMessage());
        }
    }

    @Test
    void shouldNotAppearInTheProcessTableOfAWriter() throws Exception {
        Path path = newHeap();
        try (ShmHeap writer = ShmHeap.open(path); HeapObserver observer = HeapObserver.open(path)) {
            assertEquals(1, writer.attachedProcesses().size());
            assertEquals(1, observer.attachedProcesses().size());
            assertEquals(ProcessHandle.current().pid(), observer.attachedProcesses().get(0).pid());
        }
    }

    @Test
    void shouldReportACounterProblemWithItsHeaderOffset() throws Exception {
        Path path = newHeap();
        long stored = TestHeaps.readLong(path, HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET);
        TestHeaps.writeLong(path, HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET, stored + 4096);
        try (HeapObserver heap = HeapObserver.open(path)) {
            Problem p = only(heap.verify(), Problem.Kind.COUNTER);
            assertEquals(HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET, p.offset());
            assertEquals(Problem.NO_PAGE, p.page());
            assertTrue(p.message().startsWith("buddy free bytes is " + (stored + 4096)), p.message());
        }
        try (ShmHeap heap = ShmHeap.open(path)) {
            assertEquals(HeaderDescriptor.BUDDY_FREE_BYTES_OFFSET, only(heap.verify(), Problem.Kind.COUNTER).offset(),
                    "the locked verify reports the same record");
        }
    }

    @Test
    void shouldReportAPageMapProblemWithItsPageAndDataOffset() throws Exception {
        Path path = newHeap();
        HeapLayout layout = HeapLayout.forCapacity(CAPACITY, false);
        long page;
        long dataOffset;
        try (ShmHeap heap = ShmHeap.open(path)) {
            long block = heap.allocate(8192);
            dataOffset = heap.dataOffset();
            page = (block - dataOffset) / 4096;
            assertEquals(layout.dataOffset(), dataOffset);
        }
        // a USED head carrying a list link is not a valid head
        long word0 = TestHeaps.readLong(path, layout.entryOffset(page) + PageMapEntry.WORD0);
        TestHeaps.writeLong(path, layout.entryOffset(page) + PageMapEntry.WORD0, word0 | (5L << 32));
        assertNotEquals(word0, TestHeaps.readLong(path, layout.entryOffset(page)));
        try (HeapObserver heap = HeapObserver.open(path)) {
            VerifyReport report = heap.verify();
            assertFalse(report.ok());
            Problem p = report.problems().stream().filter(x -> x.kind() == Problem.Kind.PAGE_MAP).findFirst()
                    .orElseThrow(() -> new AssertionError("no PAGE_MAP problem: " + report));
            assertEquals(page, p.page(), report::toString);
            assertEquals(dataOffset + page * 4096, p.offset());
        }
    }

    private static Problem only(VerifyReport report, Problem.Kind kind) {
        assertEquals(1, report.problems().size(), report::toString);
        Problem p = report.problems().get(0);
        assertEquals(kind, p.kind(), report::toString);
        return p;
    }

    @Test
    void shouldGiveUpAfterTheTimeoutWhileALiveProcessHoldsALock() throws Exception {
        Path path = newHeap();
        // this JVM's own token is alive: the lock looks held by a live process that never lets go
        TestHeaps.writeLong(path, HeaderDescriptor.BUDDY_LOCK_OFFSET, ProcessIdentity.current());
        try (HeapObserver heap = HeapObserver.open(path)) {
            HeapBusyException e = assertThrows(HeapBusyException.class, () -> heap.verify(Duration.ofMillis(100)));
            assertTrue(e.getMessage().contains("buddy lock is held by live pid " + ProcessHandle.current().pid()), e.getMessage());
        }
        TestHeaps.writeLong(path, HeaderDescriptor.BUDDY_LOCK_OFFSET, 0);
        try (HeapObserver heap = HeapObserver.open(path)) {
            assertTrue(heap.verify(Duration.ofMillis(100)).ok());
        }
    }

    @Test
    void shouldReportALockHeldByADeadProcessWithoutWaiting() throws Exception {
        Path path = newHeap();
        TestHeaps.writeLong(path, HeaderDescriptor.BUDDY_LOCK_OFFSET, TestHeaps.deadToken());
        String before = sha256(path);
        try (HeapObserver heap = HeapObserver.open(path)) {
            Problem p = only(heap.verify(), Problem.Kind.DEAD_LOCK_OWNER);
            assertEquals(HeaderDescriptor.BUDDY_LOCK_OFFSET, p.offset());
        }
        assertEquals(before, sha256(path), "a read-only verify must not take the lock over");
    }

    /**
     * Threads allocate and free without pause while read-only verifies run: each verify either
     * sees a consistent heap (ok) or gives up as busy; none may report a problem.
     */
    @Test
    void shouldNeverReportAnOperationInFlightAsAProblem() throws Exception {
        Path path = newHeap();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> writers = new ArrayList<>();
        try (ShmHeap writer = ShmHeap.open(path); HeapObserver observer = HeapObserver.open(path)) {
            for (int t = 0; t < 2; t++) {
                Random random = new Random(t);
                Thread thread = new Thread(() -> {
                    long[] held = new long[64];
                    try {
                        while (!stop.get()) {
                            int i = random.nextInt(held.length);
                            if (held[i] != 0) {
                                writer.free(held[i]);
                                held[i] = 0;
                            } else {
                                held[i] = writer.tryAllocate(1 + random.nextInt(random.nextBoolean() ? 200 : 20_000), 8);
                                held[i] = held[i] == ShmHeap.NO_SPACE ? 0 : held[i];
                            }
                        }
                        for (long h : held) {
                            if (h != 0) {
                                writer.free(h);
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                thread.start();
                writers.add(thread);
            }
            List<VerifyReport> reports = new ArrayList<>();
            int busy = 0;
            try {
                for (int i = 0; i < 40; i++) {
                    try {
                        reports.add(observer.verify(Duration.ofMillis(500)));
                    } catch (HeapBusyException e) {
                        busy++;
                    }
                }
            } finally {
                stop.set(true); // the writers must stop before the heap is closed under them
                for (Thread thread : writers) {
                    thread.join();
                }
            }
            assertNull(failure.get(), () -> "a writer failed: " + failure.get());
            assertEquals(40, reports.size() + busy);
            for (VerifyReport report : reports) {
                assertTrue(report.ok(), () -> "a read-only verify reported a problem on a healthy heap: " + report);
            }
            assertTrue(observer.verify().ok());
            assertTrue(writer.verify().ok());
        }
    }
}
