package dev.shmheap.internal.attach;

import dev.shmheap.LockTakeover;
import dev.shmheap.RecoveryReport;
import dev.shmheap.ShmHeapException;
import dev.shmheap.VerifyReport;
import dev.shmheap.internal.alloc.BlockRequests;
import dev.shmheap.internal.alloc.DeadHolders;
import dev.shmheap.internal.alloc.HeapAllocator;
import dev.shmheap.internal.holders.HolderTransitions;
import dev.shmheap.internal.holders.ProcessQuota;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.layout.HolderMap;
import dev.shmheap.internal.lock.HeapLocks;
import dev.shmheap.internal.lock.ProcessTable;
import dev.shmheap.internal.lock.SpinLock;
import dev.shmheap.internal.names.NameBindings;
import dev.shmheap.internal.process.ProcessTokens;
import dev.shmheap.internal.view.HeapView;

import java.time.Duration;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The composition root of an attachment that may change the heap: builds its collaborators
 * once, in dependency order, registers the process, and holds what {@code ShmHeap} delegates
 * to. Each public call of {@code ShmHeap} goes to exactly one of {@link #requests()} (a
 * block), {@link #view()} (a read) or a method here (a name, or the heap as a whole). Each
 * checks that the attachment is open.
 *
 * <pre>
 *   HeapView (mapping, page map, process table, names, figures, bounds)
 *     &lt;- HeapAllocator (slab, buddy, HeapLocks)  &lt;- DeadHolders
 *     &lt;- HolderTransitions, ProcessQuota, NameBindings
 *     &lt;- BlockRequests (quota admission, reclaim-before-full, free, share, hand off, take over)
 * </pre>
 */
public final class Attachment {
    /** How long {@link #recover()} waits for each lock a live process holds. */
    private static final long RECOVER_LOCK_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final HeapView view;
    private final long token = ProcessTokens.current();
    private final int processSlot;
    private final HeapAllocator allocator;
    private final DeadHolders deadHolders;
    private final HolderTransitions holders;
    private final ProcessQuota quota;
    private final NameBindings bindings;
    private final BlockRequests requests;

    /** Registers this process in the heap and settles the slots of dead processes; the caller unmaps {@code view} if it throws. */
    public Attachment(HeapView view) {
        this.view = view;
        HeapLayout layout = view.layout();
        this.processSlot = register(view, token);
        this.allocator = new HeapAllocator(view.memory(), layout, view.pages(), token, processSlot, view.file());
        this.deadHolders = new DeadHolders(view.memory(), layout, view.pages(), view.processTable(), allocator, processSlot);
        this.holders = new HolderTransitions(view.memory(), layout, view.pages(), view.processTable(), HolderMap.ofSlot(processSlot));
        this.quota = new ProcessQuota(view.memory(), () -> view.figures().heldBytes(processSlot));
        this.bindings = new NameBindings(view.names(), allocator.locks(), view.file());
        this.requests = new BlockRequests(view, allocator, quota, deadHolders, holders, bindings, processSlot);
        // dead processes' slots: free those that hold nothing, reclaim (RECLAIM_DEAD) or keep the rest
        deadHolders.settle(layout.reclaimDead(), false);
    }

    /**
     * Claims a process-table slot. When none is free, the slots of dead processes that hold
     * nothing (or, in a RECLAIM_DEAD heap, whose blocks can be reclaimed) are settled first by
     * an attachment without a slot: a reclaimer killed between its take-over and free leaves the
     * block unattributed (kept, reported by verify) instead of held by a slot.
     */
    private static int register(HeapView view, long token) {
        ProcessTable processTable = view.processTable();
        try {
            return processTable.register(token);
        } catch (ShmHeapException full) {
            HeapAllocator slotless = new HeapAllocator(view.memory(), view.layout(), view.pages(), token, -1, view.file());
            new DeadHolders(view.memory(), view.layout(), view.pages(), processTable, slotless, -1).settle(view.layout().reclaimDead(), true);
            return processTable.register(token);
        }
    }

    public HeapView view() {
        return view;
    }

    public BlockRequests requests() {
        return requests;
    }

    /** Binds {@code name} to the live block at {@code offset}, which becomes the heap's (shared) first. */
    public void bind(String name, long offset) {
        requests.share(offset);
        bindings.bind(name, offset);
    }

    public OptionalLong lookup(String name) {
        view.ensureOpen();
        return bindings.lookup(name);
    }

    public long unbind(String name) {
        view.ensureOpen();
        return bindings.unbind(name);
    }

    public Map<String, Long> names() {
        view.ensureOpen();
        return bindings.entries();
    }

    /** Tells {@code listener} of each lock this attachment takes over, once it released the lock; null: nobody. */
    public void onLockTakeover(Consumer<LockTakeover> listener) {
        view.ensureOpen();
        HeapLocks.TakeoverListener tell = listener == null ? (lock, dead, atNanos) -> { }
                : (lock, dead, atNanos) -> listener.accept(dead == SpinLock.POISONED
                        ? new LockTakeover(view.path(), lock, 0, 0, atNanos)
                        : new LockTakeover(view.path(), lock, ProcessTokens.pidOf(dead), dead, atNanos));
        allocator.locks().setTakeoverListener(tell);
    }

    public long trim() {
        view.ensureOpen();
        return allocator.trim();
    }

    /** Takes over dead owners' locks, rebuilds every list and counter, then settles the dead processes' slots and blocks. */
    public RecoveryReport recover() {
        view.ensureOpen();
        RecoveryReport repaired = allocator.recover(RECOVER_LOCK_TIMEOUT_NANOS, view.file());
        DeadHolders.Outcome outcome = deadHolders.settle(view.layout().reclaimDead(), true);
        return new RecoveryReport(repaired.locksTakenOver(), outcome.slotsFreed(), repaired.freeBlocksRelinked(), outcome.reclaimedBlocks(),
                outcome.reclaimedBytes(), outcome.kept());
    }

    /** Frees every block a dead process holds, whether or not the heap reclaims the dead by itself. */
    public RecoveryReport reclaimDead() {
        view.ensureOpen();
        DeadHolders.Outcome outcome = deadHolders.settle(true, true);
        return new RecoveryReport(0, outcome.slotsFreed(), 0, outcome.reclaimedBlocks(), outcome.reclaimedBytes(), outcome.kept());
    }

    public long processQuota() {
        view.ensureOpen();
        return quota.limit();
    }

    public void setProcessQuota(long bytes) {
        view.ensureOpen();
        if (bytes < 0) {
            throw new IllegalArgumentException("process quota " + bytes + " must be 0 (none) or positive");
        }
        quota.setLimit(bytes);
    }

    /** Verifies holding every lock, so the report is of one moment. */
    public VerifyReport verify() {
        view.ensureOpen();
        return view.verifier(token).verify();
    }

    /** Verifies without a lock, within {@code timeout}. */
    public VerifyReport verify(Duration timeout) {
        view.ensureOpen();
        return view.verifyUnlocked(timeout, token);
    }

    /**
     * Gives back the owned sets, shares what this attachment still holds, leaves the process
     * table and unmaps the heap.
     */
    public void close() {
        allocator.close(); // owned sets go back to the shared lists before the slot is freed
        // A slot's number names its blocks' holder: what this attachment still holds becomes the heap's
        // before the slot is freed (a process killed instead of closing keeps its blocks until reclaimed).
        holders.shareAllOfMine();
        view.processTable().deregister(processSlot, token);
        view.close();
    }
}
