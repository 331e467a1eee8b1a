package dev.shmheap.stress.jcstress;

import dev.shmheap.ShmHeap;
import dev.shmheap.VerifyReport;
import dev.shmheap.internal.alloc.HeapAllocator;
import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.process.ProcessTokens;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.memory.MappedMemory;
import dev.shmheap.internal.pagemap.ExtentReservations;
import dev.shmheap.internal.pagemap.PageMap;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.LL_Result;
import org.openjdk.jcstress.infra.results.L_Result;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The buddy cache (docs/design/BUDDY.md) on a real heap in mapped memory. The states of one
 * test share one heap ({@link SharedHeap} says why); arbiters run with the heap quiescent and
 * serialize on {@link Heap#checks}.
 */
public final class BuddyCacheRaceTest {
    private BuddyCacheRaceTest() {
    }

    /** Room for every slot's cache at its bound (capacity / 64 = 1 MiB each) and the blocks of states in flight. */
    static final long CAPACITY = 256L << 20;
    static final long BLOCK = 16384;
    /**
     * The process-table slots of "dead" caching processes in {@link #FLUSH_HEAP} (every slot but
     * the ShmHeap's 0; each holds a dead token), handed to states in turn, so that a survivor
     * of one state rarely gives back another live state's block.
     */
    static final int FIRST_DEAD_SLOT = 1;
    static final AtomicInteger NEXT_DEAD_SLOT = new AtomicInteger();

    static int nextDeadSlot() {
        return FIRST_DEAD_SLOT + Math.floorMod(NEXT_DEAD_SLOT.getAndIncrement(), ProcessTable.SLOT_COUNT - FIRST_DEAD_SLOT);
    }

    /**
     * One heap with a second mapping of the same file for the library's internal classes, so
     * that a state can play a process in a slot of its own (a HeapAllocator with its own buddy
     * cache) and a survivor that settles that slot.
     */
    static final class Heap {
        final ShmHeap heap;
        final MappedMemory memory;
        final HeapLayout layout;
        final PageMap pages;
        final Object checks = new Object();

        Heap(String label, long capacity) {
            Path path = ShmFiles.directory().resolve("shmheap-jcstress-" + label + "-" + ProcessHandle.current().pid() + "-"
                    + System.nanoTime() + ".heap");
            try {
                heap = ShmHeap.create(path, capacity);
                try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                    ByteBuffer header = ByteBuffer.allocate(HeaderDescriptor.HEADER_LENGTH);
                    channel.read(header, 0);
                    layout = HeapLayout.read(header.clear(), channel.size(), path.toString());
                    memory = MappedMemory.map(channel, layout.fileLength());
                }
                Files.delete(path);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create the jcstress heap " + path, e);
            }
            pages = new PageMap(memory, layout, new ExtentReservations(memory, layout, -1));
        }

        /** Writes {@code token} into process-table slot {@code slot}, as a process registering there would. */
        void occupy(int slot, long token) {
            memory.putLongVolatile(layout.processTableOffset() + (long) slot * ProcessTable.SLOT_LENGTH + ProcessTable.TOKEN, token);
        }

        /** An attachment's allocator in slot {@code slot} of this heap (-1: none, as a survivor's settle without a slot). */
        HeapAllocator allocator(int slot) {
            return new HeapAllocator(memory, layout, pages, ProcessTokens.current(), slot, "jcstress");
        }

        String verify() {
            VerifyReport report = heap.verify();
            return report.ok() ? "ok" : "verify: " + report.problems().get(0);
        }
    }

    static {
        Quiet.spinLockWarnings();
    }

    static final Heap FLUSH_HEAP = new Heap("cache-flush", CAPACITY);
    static final Heap VERIFY_HEAP = new Heap("cache-verify", 16L << 20);
    /** One attachment per dead slot of {@link #FLUSH_HEAP}, shared by the states that get that slot, as one process's threads share it. */
    static final HeapAllocator[] OWNERS = new HeapAllocator[ProcessTable.SLOT_COUNT];
    /** The slot of the process whose cache the verify test exercises: a live token (this JVM's), not the ShmHeap's slot 0. */
    static final int CACHING_SLOT = ProcessTable.SLOT_COUNT - 2;
    static final HeapAllocator CACHING_PROCESS;

    static {
        for (int slot = FIRST_DEAD_SLOT; slot < ProcessTable.SLOT_COUNT; slot++) {
            FLUSH_HEAP.occupy(slot, DeadTokens.PID_ZERO);
            OWNERS[slot] = FLUSH_HEAP.allocator(slot);
        }
        VERIFY_HEAP.occupy(CACHING_SLOT, ProcessTokens.current());
        CACHING_PROCESS = VERIFY_HEAP.allocator(CACHING_SLOT);
    }

    @JCStressTest
    @State
    @Description("A process (slot 1..127 in turn) holds 16 KiB blocks in its buddy cache (the one it freed and the spares "
            + "its miss took) and flushes them, while a survivor that takes the process for dead gives its cached blocks back "
            + "(walk, CAS under the buddy lock, slot words zeroed). Columns: who gave the blocks back (the owner's flush skips "
            + "those gone), verify() with the heap quiescent.")
    @Outcome(id = "owner, ok", expect = ACCEPTABLE, desc = "the flush won; the survivor skipped the blocks")
    @Outcome(id = "survivor, ok", expect = ACCEPTABLE, desc = "the survivor won; the flush found the blocks gone")
    @Outcome(id = "split, ok", expect = ACCEPTABLE, desc = "another state of the same slot cached, flushed or gave back blocks in between")
    @Outcome(expect = FORBIDDEN, desc = "given back twice (free lists or counters broken) or another inconsistency")
    public static class FlushVsDeadProcessGiveBack {
        final HeapAllocator owner;
        final HeapAllocator survivor;
        final long[] deadTokens = new long[ProcessTable.SLOT_COUNT];
        final long cached;
        String flushedBy;

        public FlushVsDeadProcessGiveBack() {
            synchronized (FLUSH_HEAP.checks) {
                int slot = nextDeadSlot();
                owner = OWNERS[slot];
                survivor = FLUSH_HEAP.allocator(-1);
                long offset = owner.allocate(BLOCK, ShmHeap.DEFAULT_ALIGNMENT);
                if (offset == HeapAllocator.NO_SPACE || owner.free(offset) != HeapAllocator.FREED) {
                    throw new IllegalStateException("cannot set up a cached block: offset " + offset);
                }
                deadTokens[slot] = DeadTokens.PID_ZERO;
                cached = new ProcessTable(FLUSH_HEAP.memory, FLUSH_HEAP.layout.processTableOffset()).cacheWord(slot, ProcessTable.CACHED_BYTES);
            }
        }

        @Actor
        public void ownerFlush() {
            // the flush skips a block no longer CACHED by it: a survivor gave it back
            long flushed = owner.flushCache();
            flushedBy = flushed == cached ? "owner" : flushed == 0 ? "survivor" : "split";
        }

        @Actor
        public void survivorGivesBack() {
            survivor.giveBackDeadCaches(deadTokens);
        }

        @Arbiter
        public void arbiter(LL_Result r) {
            synchronized (FLUSH_HEAP.checks) {
                r.r1 = flushedBy;
                r.r2 = FLUSH_HEAP.verify();
            }
        }
    }

    @JCStressTest
    @State
    @Description("A process frees a 16 KiB block into its buddy cache and allocates it again (no shared lock: "
            + "CAS USED -> CACHED, store CACHED -> USED), while another process's attachment runs verify(). Column: verify().")
    @Outcome(id = "ok", expect = ACCEPTABLE, desc = "verify saw USED or CACHED, each a consistent state")
    @Outcome(expect = FORBIDDEN, desc = "verify reported a problem in a consistent heap")
    public static class CachedBlockVsVerify {
        long block;

        public CachedBlockVsVerify() {
            synchronized (VERIFY_HEAP.checks) {
                block = CACHING_PROCESS.allocate(BLOCK, ShmHeap.DEFAULT_ALIGNMENT);
            }
        }

        @Actor
        public void owner() {
            CACHING_PROCESS.free(block);
            block = CACHING_PROCESS.allocate(BLOCK, ShmHeap.DEFAULT_ALIGNMENT);
        }

        @Actor
        public void verifier(L_Result r) {
            r.r1 = VERIFY_HEAP.verify();
        }

        @Arbiter
        public void arbiter() {
            synchronized (VERIFY_HEAP.checks) {
                CACHING_PROCESS.free(block);
            }
        }
    }
}
