package dev.shmheap.internal.alloc;

import dev.shmheap.HeapFullException;
import dev.shmheap.internal.view.HeapView;
import dev.shmheap.internal.buddy.BuddyAllocator;
import dev.shmheap.internal.holders.HolderTransitions;
import dev.shmheap.internal.holders.ProcessQuota;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.HolderMap;
import dev.shmheap.internal.layout.SizeClasses;
import dev.shmheap.internal.names.NameBindings;

import java.util.concurrent.TimeUnit;

/**
 * A user's request about one block, from the argument check to the answer: allocate (with the
 * per-process quota's admission and reclaim-before-full), free, share, hand off and take over.
 * The policy lives here, where the allocation is decided, so that a request goes down once:
 *
 * <pre>
 *   allocate --check--&gt; quota admits? --&gt; {@link HeapAllocator} --NO_SPACE--&gt; reclaim the dead (RECLAIM_DEAD heaps,
 *                          |no                                          at most once a ms) --&gt; allocator again
 *                          v                                                                       |NO_SPACE
 *                     refused: quota                                                          refused: full
 * </pre>
 *
 * <p>Quota bookkeeping (see {@link ProcessQuota}): while a quota is set, what this process
 * allocates or takes over counts as held, and what it frees, shares or hands off of its own no
 * longer does; while none is set nothing is counted, so the fast path is one read of the
 * quota word. Every request first checks that the attachment is open.
 */
public final class BlockRequests {
    /** The alignment of a request that names none. */
    public static final long DEFAULT_ALIGNMENT = 8;
    /** What {@link #tryAllocate} returns when the heap (or the quota) cannot satisfy a request. */
    public static final long NO_SPACE = HeapAllocator.NO_SPACE;
    /**
     * How often a request that found no space may reclaim the dead's blocks: a producer spinning
     * on a full heap would otherwise ask the kernel about every attached process on every try.
     */
    private static final long RECLAIM_BEFORE_FULL_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final HeapView view;
    private final HeapLayout layout;
    private final HeapAllocator allocator;
    private final ProcessQuota quota;
    private final DeadHolders deadHolders;
    private final HolderTransitions holders;
    private final NameBindings bindings;
    /** This attachment's holder byte (0..255): what the holder map says of the blocks it holds. */
    private final int myHolder;
    /** When this attachment last reclaimed for a request that found no space (racy: a missed update costs one extra settle). */
    private long lastReclaimBeforeFull = System.nanoTime() - RECLAIM_BEFORE_FULL_INTERVAL_NANOS;

    public BlockRequests(HeapView view, HeapAllocator allocator, ProcessQuota quota, DeadHolders deadHolders, HolderTransitions holders,
                         NameBindings bindings, int processSlot) {
        this.view = view;
        this.layout = view.layout();
        this.allocator = allocator;
        this.quota = quota;
        this.deadHolders = deadHolders;
        this.holders = holders;
        this.bindings = bindings;
        this.myHolder = HolderMap.ofSlot(processSlot) & 0xFF;
    }

    /** Allocates, or throws {@link HeapFullException} naming the size, the alignment and why no block was found. */
    public long allocate(long size, long alignment) {
        return allocate(size, alignment, true);
    }

    /** Allocates, or returns {@link #NO_SPACE} where {@link #allocate} would throw {@link HeapFullException}. */
    public long tryAllocate(long size, long alignment) {
        return allocate(size, alignment, false);
    }

    private long allocate(long size, long alignment, boolean throwing) {
        view.ensureOpen();
        checkRequest(size, alignment);
        // the fast path: one read of the quota word, then the allocator; the rest is out of line
        long offset = quota.limit() == 0 ? allocator.allocate(size, alignment) : allocateUnderQuota(size, alignment, throwing);
        return offset != NO_SPACE ? offset : allocateAfterNoSpace(size, alignment, throwing);
    }

    /** Throws {@link IllegalArgumentException} naming what is wrong unless the request is valid in this heap. */
    private void checkRequest(long size, long alignment) {
        if (size > 0 && size <= SizeClasses.MAX_BLOCK && alignment == DEFAULT_ALIGNMENT) {
            return; // the common request, valid in every heap: the rest stays out of the inlined path
        }
        checkUncommonRequest(size, alignment);
    }

    private void checkUncommonRequest(long size, long alignment) {
        if (size <= 0) {
            throw new IllegalArgumentException("size=" + size + " must be positive");
        }
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0) {
            throw new IllegalArgumentException("alignment=" + alignment + " must be a power of two");
        }
        if (alignment > layout.maxAlignment()) {
            throw new IllegalArgumentException("alignment=" + alignment + " exceeds the largest alignment " + layout.maxAlignment()
                    + " of heap " + view.file());
        }
        if (size > layout.largestBlock()) {
            throw new IllegalArgumentException("size=" + size + " exceeds the largest block " + layout.largestBlock() + " of heap " + view.file());
        }
    }

    /** While a quota is set: admit the request by the quota, then allocate. */
    private long allocateUnderQuota(long size, long alignment, boolean throwing) {
        long limit = quota.limit();
        long bytes = blockBytes(size, alignment);
        if (!quota.admit(bytes, limit)) {
            if (!throwing) {
                return NO_SPACE;
            }
            throw new HeapFullException("heap " + view.file() + " cannot allocate size=" + size + " alignment=" + alignment
                    + ": this process would exceed the per-process quota of " + limit + " bytes (it holds " + quota.held() + " bytes)",
                    size, alignment, availableBytes());
        }
        long offset = allocator.allocate(size, alignment);
        if (offset == NO_SPACE) {
            quota.add(-bytes); // allocateAfterNoSpace admits it again
        }
        return offset;
    }

    /**
     * A request that found no space: a heap that reclaims the dead reclaims and tries once
     * more, so that a heap is never full because of processes that died; then
     * {@link HeapFullException} (or {@link #NO_SPACE}).
     */
    private long allocateAfterNoSpace(long size, long alignment, boolean throwing) {
        if (layout.reclaimDead() && reclaimBeforeFull()) {
            long offset = quota.limit() == 0 ? allocator.allocate(size, alignment) : allocateUnderQuota(size, alignment, throwing);
            if (offset != NO_SPACE) {
                return offset;
            }
        }
        if (!throwing) {
            return NO_SPACE;
        }
        String reason = view.pages().reservations().lastFailure();
        long available = availableBytes();
        throw new HeapFullException("heap " + view.file() + " cannot allocate size=" + size + " alignment=" + alignment + ": "
                + available + " bytes available of " + layout.capacity() + ", largest free block "
                + view.figures().largestListedBlock() + (reason == null || !layout.sparse() ? "" : "; " + reason),
                size, alignment, available);
    }

    /** Reclaims the dead's blocks for a request that found no space; true if it freed any. At most once a millisecond. */
    private boolean reclaimBeforeFull() {
        long now = System.nanoTime();
        if (now - lastReclaimBeforeFull < RECLAIM_BEFORE_FULL_INTERVAL_NANOS) {
            return false;
        }
        lastReclaimBeforeFull = now;
        return deadHolders.settle(true, false).reclaimedBlocks() > 0;
    }

    private long availableBytes() {
        return view.figures().stats(0).availableBytes();
    }

    private static long blockBytes(long size, long alignment) {
        int c = SizeClasses.classFor(size, alignment);
        return c >= 0 ? SizeClasses.blockSize(c)
                : BuddyAllocator.blockBytes(BuddyAllocator.orderFor(Math.max(size, alignment)));
    }

    // ---- free ----

    /**
     * Frees the live block at {@code offset}; {@link IllegalArgumentException} naming the offset
     * when none starts there, {@link IllegalStateException} naming the binding when a name is
     * bound to it (see {@link NameBindings#refuseFreeIfBound}). The heap is unchanged when it throws.
     */
    public void free(long offset) {
        view.ensureOpen();
        view.bounds().checkInData(offset);
        // while a quota is set, a free of one of this process's blocks lowers its estimate
        long held = quota.limit() != 0 ? heldByMe(offset) : 0;
        int result = allocator.freeUnlessShared(offset);
        if (result == HeapAllocator.SHARED_BLOCK) {
            bindings.refuseFreeIfBound(offset);
            result = allocator.free(offset);
        }
        if (result != HeapAllocator.FREED) {
            throw new IllegalArgumentException(view.describeNonBlock(offset));
        }
        if (held != 0) {
            quota.add(-held);
        }
    }

    /** The size of the live block at {@code offset} if this process holds it, else 0 (for the quota's estimate). */
    private long heldByMe(long offset) {
        return holders.holderOf(offset) == myHolder ? view.pages().liveBlockSize(offset) : 0;
    }

    // ---- who holds a block ----

    /** Gives the live block at {@code offset} to the heap (see {@code ShmHeap.share}). */
    public void share(long offset) {
        giveUp(offset, HolderMap.SHARED);
    }

    /** Passes the live block at {@code offset} on to whoever takes it over (see {@code ShmHeap.handOff}). */
    public void handOff(long offset) {
        giveUp(offset, HolderMap.HANDED_OFF);
    }

    /** {@link #share} or {@link #handOff}: the block's holder becomes {@code target}. */
    private void giveUp(long offset, byte target) {
        view.ensureOpen();
        view.bounds().checkInData(offset);
        long held = quota.limit() != 0 ? heldByMe(offset) : 0;
        if (holders.shareOrHandOff(offset, target, view.file()) == HolderTransitions.NOT_LIVE) {
            throw new IllegalArgumentException(view.describeNonBlock(offset));
        }
        quota.add(-held);
    }

    /** Makes this process the holder of the live block at {@code offset} (see {@code ShmHeap.takeOver}). */
    public void takeOver(long offset) {
        view.ensureOpen();
        view.bounds().checkInData(offset);
        int before = holders.takeOver(offset, view.file());
        if (before == HolderTransitions.NOT_LIVE) {
            throw new IllegalArgumentException(view.describeNonBlock(offset));
        }
        if (before != myHolder && quota.limit() != 0) {
            quota.add(view.pages().liveBlockSize(offset));
        }
    }
}
