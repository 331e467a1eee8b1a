package dev.shmheap;

import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.lock.ProcessTable;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The critical sections the crash-point test interrupts. Each prepares some state, then names
 * one operation and how it changes the heap's used bytes. The crash points inside an operation
 * are not listed here: they are counted from the stores it makes (see CrashPoints).
 */
enum CrashScenario {
    /**
     * First 64-byte block of a stripe in a striped heap: the stripe takes a group of four
     * one-page sets (the buddy writes three set heads, then commits the block's head) and
     * links all four.
     */
    STRIPED_SLAB_ALLOCATE_GROWING {
        @Override
        Prepared prepare(ShmHeap heap) {
            heap.allocate(128); // splits the top block down, leaving a free 4-page block to take
            return new Prepared(() -> heap.allocate(64), 64);
        }

        @Override
        long capacity() {
            return HeapLayout.STRIPED_MIN_CAPACITY;
        }
    },
    /** First 64-byte block: the class takes a set from the buddy, which splits down from the top. */
    SLAB_ALLOCATE_GROWING {
        @Override
        Prepared prepare(ShmHeap heap) {
            return new Prepared(() -> heap.allocate(64), 64);
        }
    },
    /** A block from a set that has room. */
    SLAB_ALLOCATE {
        @Override
        Prepared prepare(ShmHeap heap) {
            heap.allocate(128);
            return new Prepared(() -> heap.allocate(128), 128);
        }
    },
    /** The 64th block of a set: the set leaves the partial list. */
    SLAB_ALLOCATE_FILLING_SET {
        @Override
        Prepared prepare(ShmHeap heap) {
            for (int i = 0; i < 63; i++) {
                heap.allocate(256);
            }
            return new Prepared(() -> heap.allocate(256), 256);
        }
    },
    /** A free into a set that stays partial. */
    SLAB_FREE {
        @Override
        Prepared prepare(ShmHeap heap) {
            heap.allocate(512);
            long block = heap.allocate(512);
            return new Prepared(() -> heap.free(block), -512);
        }
    },
    /** A free into a full set: the set goes back on the partial list. */
    SLAB_FREE_INTO_FULL_SET {
        @Override
        Prepared prepare(ShmHeap heap) {
            long block = 0;
            for (int i = 0; i < 64; i++) {
                block = heap.allocate(64);
            }
            long last = block;
            return new Prepared(() -> heap.free(last), -64);
        }
    },
    /** A large block: the buddy splits a top-order block down. */
    BUDDY_ALLOCATE_SPLITTING {
        @Override
        Prepared prepare(ShmHeap heap) {
            return new Prepared(() -> heap.allocate(16384), 16384);
        }
    },
    /** Freeing the only large block: it goes on its order's list unmerged, beside its free buddy. */
    BUDDY_FREE {
        @Override
        Prepared prepare(ShmHeap heap) {
            long block = heap.allocate(16384);
            return new Prepared(() -> heap.free(block), -16384);
        }
    },
    /**
     * A request larger than any listed block while a freed pair of buddies waits unmerged: the
     * buddy merges every pair (relinking every list), then hands out the merged block. In a
     * 1 MiB heap (pages 0..255): 8 KiB at page 0 and blocks at 128 and 64 stay used; two
     * 64 KiB blocks at 32 and 48 are freed, so a 128 KiB request finds only smaller blocks
     * listed and merges 32+48. The 120 KiB left free let the survivor use every lock afterwards.
     */
    BUDDY_ALLOCATE_COALESCING {
        @Override
        Prepared prepare(ShmHeap heap) {
            heap.allocate(8192);
            heap.allocate(512 * 1024);
            heap.allocate(256 * 1024);
            long a = heap.allocate(64 * 1024);
            long b = heap.allocate(64 * 1024);
            heap.free(a);
            heap.free(b);
            return new Prepared(() -> heap.allocate(128 * 1024), 128 * 1024);
        }

        @Override
        long capacity() {
            return 1 << 20;
        }
    },
    /** Owner allocate from the thread's current set: O, then the owner's allocation count, no lock. */
    OWNED_ALLOCATE {
        @Override
        Prepared prepare(ShmHeap heap) {
            heap.allocate(64);
            return new Prepared(() -> heap.allocate(64), 64);
        }
    },
    /** Owner free into the thread's current set: one store to O. */
    OWNED_LOCAL_FREE {
        @Override
        Prepared prepare(ShmHeap heap) {
            heap.allocate(64);
            long block = heap.allocate(64);
            return new Prepared(() -> heap.free(block), -64);
        }
    },
    /**
     * The current set is full and nobody freed into it: the owner gives it back (owner = 0,
     * settle the counters, registry entry cleared) and takes the next set of the stripe's
     * partial list (registry entry, unlink, owner field, counters), then allocates.
     */
    OWNED_SET_RELEASE_AND_TAKE {
        @Override
        Prepared prepare(ShmHeap heap) {
            for (int i = 0; i < 64; i++) {
                heap.allocate(64);
            }
            return new Prepared(() -> heap.allocate(64), 64);
        }

        @Override
        long capacity() {
            return HeapLayout.STRIPED_MIN_CAPACITY; // a group of four sets: the next one is listed
        }
    },
    /**
     * Two attachments on one stripe (slots 0 and 2) of a striped heap: the first owns the first
     * set of a group of four one-page sets, so the second skips its line-mate and takes the third
     * set, unlinking it through its predecessor's link instead of the list head.
     */
    OWNED_SET_TAKE_SKIPPING_SHARED_LINE {
        @Override
        Prepared prepare(ShmHeap heap) {
            openAgain(heap); // slot 1, the other stripe
            ShmHeap sameStripe = openAgain(heap); // slot 2
            heap.allocate(64);
            return new Prepared(() -> sameStripe.allocate(64), 64);
        }

        @Override
        long capacity() {
            return HeapLayout.STRIPED_MIN_CAPACITY;
        }
    },
    /** A free of a block another attachment's thread owns the set of: one CAS on the set's R word. */
    REMOTE_FREE {
        @Override
        Prepared prepare(ShmHeap heap) {
            ShmHeap owner = openAgain(heap);
            owner.allocate(64);
            long block = owner.allocate(64);
            return new Prepared(() -> heap.free(block), -64);
        }
    },
    /**
     * The owner's set is full and another attachment freed three of its blocks: the owner
     * collects R in bulk (O, then a CAS on R) and allocates from what it collected.
     */
    BULK_COLLECTION {
        @Override
        Prepared prepare(ShmHeap heap) {
            long[] blocks = new long[64];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = heap.allocate(64);
            }
            ShmHeap freer = openAgain(heap);
            freer.free(blocks[3]);
            freer.free(blocks[17]);
            freer.free(blocks[40]);
            return new Prepared(() -> heap.allocate(64), 64);
        }
    },
    /**
     * close(): every owned set goes back to its stripe (blocks stay live), the buddy cache's
     * 16 KiB block goes back to the buddy and its counts into the header, then the slot is freed.
     */
    RELEASE_ON_CLOSE {
        @Override
        Prepared prepare(ShmHeap heap) {
            heap.allocate(64);
            heap.allocate(2048);
            heap.free(heap.allocate(256));
            heap.free(heap.allocate(16384)); // the cache bound of a 1 MiB heap is 16 KiB
            return new Prepared(heap::close, 0);
        }

        @Override
        long capacity() {
            return 1 << 20; // sets of 64 and 256 B are owned
        }
    },
    /**
     * recover() adopts the sets of a dead owner: another attachment owns sets of two classes,
     * one with a pending remote free, and its process-table slot is made to name a dead process.
     */
    ADOPTION_BY_RECOVER {
        @Override
        Prepared prepare(ShmHeap heap) {
            ShmHeap owner = openAgain(heap);
            owner.allocate(64);
            long block = owner.allocate(64);
            owner.allocate(256);
            heap.free(block); // pending in R of the owner's set
            try {
                // the second attachment of a fresh heap holds slot 1
                TestHeaps.writeLong(heap.path(), HeaderDescriptor.HEADER_LENGTH + ProcessTable.SLOT_LENGTH + ProcessTable.TOKEN,
                        TestHeaps.deadToken());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return new Prepared(heap::recover, 0);
        }

        @Override
        long capacity() {
            return 1 << 20; // sets of 64 and 256 B are owned
        }
    },
    /** share(): the block's holder byte, one byte CAS from this process to SHARED. */
    SHARE {
        @Override
        Prepared prepare(ShmHeap heap) {
            long block = heap.allocate(256);
            return new Prepared(() -> heap.share(block), 0);
        }
    },
    /** handOff() of a buddy block: one byte CAS to HANDED_OFF. */
    HAND_OFF {
        @Override
        Prepared prepare(ShmHeap heap) {
            long block = heap.allocate(16384);
            return new Prepared(() -> heap.handOff(block), 0);
        }
    },
    /** takeOver() of a block another attachment handed off: one byte CAS to this process. */
    TAKE_OVER {
        @Override
        Prepared prepare(ShmHeap heap) {
            ShmHeap sender = openAgain(heap);
            long block = sender.allocate(1024);
            sender.handOff(block);
            return new Prepared(() -> heap.takeOver(block), 0);
        }
    },
    /**
     * reclaimDead() of one 64-byte block of a dead process, in a set it owned: release the set
     * (owner cleared, R collected, counters settled, registry cleared), take the block over
     * (byte CAS), free it (locked), count it, free the dead process's slot.
     */
    RECLAIM_SLAB_BLOCK {
        @Override
        Prepared prepare(ShmHeap heap) {
            heap.share(heap.allocate(64)); // the child's own block: shared, so its death reclaims nothing of it
            killSecondAttachment(heap, 64);
            return new Prepared(heap::reclaimDead, -64);
        }

        @Override
        long capacity() {
            return 1 << 20; // sets of 64 B are owned
        }
    },
    /** reclaimDead() of one 16 KiB buddy block of a dead process: take it over, free it, count it, free the slot. */
    RECLAIM_BUDDY_BLOCK {
        @Override
        Prepared prepare(ShmHeap heap) {
            killSecondAttachment(heap, 16384);
            return new Prepared(heap::reclaimDead, -16384);
        }
    },
    /** A free into the buddy cache: one CAS USED -> CACHED, then the slot's cached bytes and free count. */
    BUDDY_CACHE_FREE {
        @Override
        Prepared prepare(ShmHeap heap) {
            long block = heap.allocate(16384);
            return new Prepared(() -> heap.free(block), -16384);
        }

        @Override
        long capacity() {
            return CACHING_CAPACITY;
        }
    },
    /** An allocation the buddy cache serves: holder byte, word 1, commit USED, then the slot's cached bytes and count. */
    BUDDY_CACHE_ALLOCATE {
        @Override
        Prepared prepare(ShmHeap heap) {
            heap.free(heap.allocate(16384));
            return new Prepared(() -> heap.allocate(16384), 16384);
        }

        @Override
        long capacity() {
            return CACHING_CAPACITY;
        }
    },
    /** trim() flushes two cached blocks (CACHED -> FREE under the buddy lock), publishes the slot's words, merges. */
    BUDDY_CACHE_FLUSH_ON_TRIM {
        @Override
        Prepared prepare(ShmHeap heap) {
            long a = heap.allocate(16384);
            long b = heap.allocate(32768);
            heap.free(a);
            heap.free(b);
            return new Prepared(heap::trim, 0);
        }

        @Override
        long capacity() {
            return CACHING_CAPACITY;
        }
    },
    /**
     * reclaimDead() (as any settle) gives a dead process's cached blocks back: walk, CACHED ->
     * FREE under the buddy lock, then the dead slot's cache words zeroed and folded.
     */
    BUDDY_CACHE_OF_DEAD_PROCESS {
        @Override
        Prepared prepare(ShmHeap heap) {
            ShmHeap other = openAgain(heap);
            other.free(other.allocate(16384));
            other.free(other.allocate(8192));
            try {
                TestHeaps.writeLong(heap.path(), HeaderDescriptor.HEADER_LENGTH + ProcessTable.SLOT_LENGTH + ProcessTable.TOKEN,
                        TestHeaps.deadToken());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return new Prepared(heap::reclaimDead, 0);
        }

        @Override
        long capacity() {
            return CACHING_CAPACITY;
        }
    },
    /** Returning an empty set to the buddy, then merging every pair of free buddies. */
    TRIM_EMPTY_SET {
        @Override
        Prepared prepare(ShmHeap heap) {
            heap.free(heap.allocate(2048));
            return new Prepared(heap::trim, 0);
        }
    };

    /** A heap whose buddy cache holds 16 and 32 KiB blocks: its bound is capacity / 64 = 64 KiB. */
    static final long CACHING_CAPACITY = 4L << 20;

    record Prepared(Runnable operation, long usedDelta) {
    }

    abstract Prepared prepare(ShmHeap heap);

    /**
     * A second attachment (slot 1 of a fresh heap) allocates one block of {@code size} and is
     * made to look dead: its process-table token is overwritten with a dead process's.
     */
    static void killSecondAttachment(ShmHeap heap, long size) {
        ShmHeap other = openAgain(heap);
        other.allocate(size);
        try {
            TestHeaps.writeLong(heap.path(), HeaderDescriptor.HEADER_LENGTH + ProcessTable.SLOT_LENGTH + ProcessTable.TOKEN,
                    TestHeaps.deadToken());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A second attachment in the child, left open: its sets stay owned when the child dies. */
    static ShmHeap openAgain(ShmHeap heap) {
        try {
            return ShmHeap.open(heap.path());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The heap the scenario runs in: small (one stripe per class) unless it says otherwise. */
    long capacity() {
        return 256 * 1024;
    }
}
