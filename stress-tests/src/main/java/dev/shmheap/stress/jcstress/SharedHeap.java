package dev.shmheap.stress.jcstress;

import dev.shmheap.ShmHeap;
import dev.shmheap.VerifyReport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One real {@link ShmHeap} in /dev/shm for one jcstress test, shared by all of its states.
 *
 * <p>Why shared: jcstress keeps thousands of states alive at once and replaces them every round,
 * so a heap per state is out of the question. The actors of different states run at the same
 * time on the same heap, which is the contention under test.
 *
 * <p>Why the end-state checks are still exact: jcstress runs the arbiters (and creates the next
 * round's states) only after both actor threads have finished the whole round, behind a
 * barrier, so no actor is running while an arbiter runs. Arbiters and constructors that change
 * the heap serialize on {@link #checks}; inside it the heap is quiescent and must agree exactly
 * with {@link #heldBlocks}, the count of blocks that states have allocated and not yet freed.
 *
 * <p>Besides the marks written into the blocks themselves, a shadow map in Java memory records
 * which live block owns each granule (64-byte slab block, 4 KiB page) of the heap. Claiming a
 * granule that another live block owns is a double hand-out, caught however the two threads'
 * writes interleave.
 *
 * <p>The file is unlinked as soon as the heap is open: the mapping lives until the JVM exits,
 * and a fork that the harness kills leaves nothing behind.
 */
final class SharedHeap {
    private static final AtomicLong MARKS = new AtomicLong();

    final ShmHeap heap;
    /** Serializes arbiters and heap-changing constructors; see the class comment. */
    final Object checks = new Object();
    /** Blocks allocated by states and not freed yet. */
    final AtomicLong heldBlocks = new AtomicLong();
    /** Granule (offset / granule size) to the mark of the live block that owns it. */
    private final ConcurrentHashMap<Long, Long> owners = new ConcurrentHashMap<>();

    static {
        Quiet.spinLockWarnings();
    }

    private SharedHeap(ShmHeap heap) {
        this.heap = heap;
    }

    static SharedHeap create(String label, long capacity) {
        Path path = ShmFiles.directory().resolve("shmheap-jcstress-" + label + "-" + ProcessHandle.current().pid() + "-"
                + System.nanoTime() + ".heap");
        try {
            ShmHeap heap = ShmHeap.create(path, capacity);
            Files.delete(path);
            return new SharedHeap(heap);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the jcstress heap " + path, e);
        }
    }

    /** A value no other block of this JVM is marked with; never 0. */
    static long newMark() {
        return MARKS.incrementAndGet();
    }

    /**
     * Records that the block at {@code offset} of {@code length} bytes is live and marked
     * {@code mark}; false (recording nothing) if any of its granules belongs to another live block.
     */
    boolean claim(long offset, long length, long granule, long mark) {
        for (long at = offset; at < offset + length; at += granule) {
            if (owners.putIfAbsent(at / granule, mark) != null) {
                unclaim(offset, at - offset, granule, mark);
                return false;
            }
        }
        return true;
    }

    /** Forgets a block recorded by {@link #claim}; call it before the block is freed. */
    void unclaim(long offset, long length, long granule, long mark) {
        for (long at = offset; at < offset + length; at += granule) {
            owners.remove(at / granule, mark);
        }
    }

    /** True if the block at {@code offset} is recorded as live by {@link #claim}. */
    boolean claimed(long offset, long granule) {
        return owners.containsKey(offset / granule);
    }

    /** Granules recorded as owned by live blocks. */
    int claimedGranules() {
        return owners.size();
    }

    /** Writes {@code mark} into the first word of every {@code stride} bytes of the block. */
    void mark(long offset, long length, long stride, long mark) {
        for (long at = offset; at < offset + length; at += stride) {
            heap.putLong(at, mark);
        }
    }

    /** True if every word written by {@link #mark} still holds {@code mark}. */
    boolean marked(long offset, long length, long stride, long mark) {
        for (long at = offset; at < offset + length; at += stride) {
            if (heap.getLong(at) != mark) {
                return false;
            }
        }
        return true;
    }

    /** True if {@code offset} is the start of a live block of {@code size} bytes. */
    boolean live(long offset, long size) {
        try {
            return heap.usableSize(offset) == size;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** True if freeing {@code offset} is rejected, as a double free must be. */
    boolean freeRejected(long offset) {
        try {
            heap.free(offset);
            return false;
        } catch (IllegalArgumentException expected) {
            return true;
        }
    }

    /** "ok", or the first problem {@link ShmHeap#verify()} reports. */
    String verify() {
        VerifyReport report = heap.verify();
        return report.ok() ? "ok" : "verify: " + report.problems().get(0);
    }
}
