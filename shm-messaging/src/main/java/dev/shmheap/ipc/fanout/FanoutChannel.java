package dev.shmheap.ipc.fanout;

import dev.shmheap.Backoff;
import dev.shmheap.ProcessIdentity;
import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.internal.ChannelBlock;

import java.time.Duration;
import java.util.List;

import static dev.shmheap.ipc.fanout.FanoutDescriptor.*;

/**
 * A one-publisher, many-subscriber channel of messages that live in a shared {@link ShmHeap}:
 * the publisher offers a block once and every attached subscriber reads it in place; the block
 * is freed once the last of them has passed it. Layout, invariants and the reasons for
 * per-subscriber positions: see {@link FanoutDescriptor}.
 *
 * <p>Protocol:
 * <ol>
 *   <li><b>Publish.</b> At {@code tail}, if {@code tail - reclaimed < capacity}: write offset and
 *       length into the slot, release-store {@code tail + 1}. Otherwise reclaim (step 4) and, if
 *       the ring is still full, report backpressure.</li>
 *   <li><b>Read.</b> A subscriber reads the slots from its position up to {@code tail}
 *       (acquire), hands each message to its handler in place, then release-stores its new
 *       position: that store is its release of every block below it.</li>
 *   <li><b>Join.</b> Under the reclaim lock: take a table entry that is free or names a dead
 *       process (one CAS), set its position to the current tail, unlock. The joiner sees
 *       messages published from then on.</li>
 *   <li><b>Reclaim.</b> Under the reclaim lock (a token word, taken with a CAS, taken over from a
 *       dead holder): scan the table for the minimum position of the live subscribers (tail if
 *       none), optionally dropping entries whose process is dead (position first set to
 *       {@code JOINING}, then the token cleared); for each position from {@code reclaimed} up to
 *       that minimum, zero the slot's offset and free the block; store the new {@code reclaimed};
 *       unlock. A subscriber that was the slowest reclaims after it moved on, so the last
 *       subscriber to release a block is the one that frees it; the publisher reclaims when the
 *       ring is full.</li>
 *   <li><b>Leave.</b> The subscriber sets its position to {@code JOINING} (which reclaimers
 *       treat as "hold everything", never as "release everything"), clears its token, and
 *       reclaims what it was holding back.</li>
 * </ol>
 *
 * <p><b>Crashes.</b> A subscriber killed anywhere holds back at most the ring until someone
 * checks its liveness (the publisher does when the ring is full, at most every
 * {@link FanoutDescriptor#LIVENESS_CHECK_NANOS}); then it is dropped and the blocks it held are
 * freed by the next reclaim, so the publisher never wedges and nothing leaks. A reclaimer killed
 * midway leaves the lock naming a dead process, taken over by the next reclaimer, and at most
 * one block leaked (the one whose offset it had zeroed but not yet freed). A publisher killed
 * between allocating and publishing leaks that block; the next publisher takes over its token.
 *
 * <p>Instances are thread-safe; publishers and subscribers are for one thread each.
 */
public final class FanoutChannel {
    /** Create, attach, header checks and destroy: shared with {@code ShmChannel}. */
    private static final ChannelBlock BLOCK = new ChannelBlock("fan-out channel", MAGIC_OFFSET, MAGIC, SLOTS_OFFSET);
    /** Longest pause waiting for the reclaim lock or for attached processes to go: a release is noticed within 1 ms. */
    private static final long LOCK_MAX_PARK_NANOS = 1_000_000;

    private final ShmHeap heap;
    private final String name;
    private final long base;
    private final int capacity;

    private FanoutChannel(ShmHeap heap, String name, long base, int capacity) {
        this.heap = heap;
        this.name = name;
        this.base = base;
        this.capacity = capacity;
    }

    /**
     * Allocates a channel of {@code capacity} slots (the bound on how far the publisher may run
     * ahead of the slowest subscriber) in {@code heap} and binds it to {@code name}.
     *
     * @throws IllegalArgumentException if the capacity is not a power of two in 2..2^20 or the name is invalid
     * @throws IllegalStateException    if {@code name} is already bound
     */
    public static FanoutChannel create(ShmHeap heap, String name, int capacity) {
        long length = blockLength(capacity);
        long base = BLOCK.create(heap, name, length, REGION_LENGTH, at -> {
            for (long i = SLOTS_OFFSET; i < length; i += Long.BYTES) {
                heap.putLong(at + i, 0); // every slot's offset 0: nothing to reclaim
            }
            heap.putLong(at + CAPACITY_OFFSET, capacity);
            heap.putLong(at + SUBSCRIBER_TABLE_SIZE_OFFSET, SUBSCRIBER_TABLE_SIZE);
            for (int index = 0; index < SUBSCRIBER_TABLE_SIZE; index++) {
                heap.putLong(at + entryOffset(index) + ENTRY_POSITION_OFFSET, JOINING);
            }
        });
        return new FanoutChannel(heap, name, base, capacity);
    }

    /**
     * Attaches to the fan-out channel bound to {@code name} if there is one, else creates it (see
     * {@code ShmChannel.openOrCreate}): a publisher or subscriber program rerun after one that
     * did not destroy the channel gets it back.
     *
     * @throws IllegalArgumentException as {@link #create}
     * @throws IllegalStateException    if the bound channel has another capacity (both named) or is not a fan-out channel of this format
     */
    public static FanoutChannel openOrCreate(ShmHeap heap, String name, int capacity) {
        blockLength(capacity); // bad arguments fail the same way whether the name is bound or not
        return BLOCK.openOrCreate(heap, name, base -> {
            FanoutChannel channel = validate(heap, name, base);
            if (channel.capacity != capacity) {
                throw new IllegalStateException("fan-out channel '" + name + "' in heap " + heap.path() + " exists with capacity="
                        + channel.capacity + "; asked for capacity=" + capacity);
            }
            return channel;
        }, () -> create(heap, name, capacity));
    }

    /**
     * Attaches to the channel bound to {@code name}, waiting up to {@code wait} for it to appear.
     *
     * @throws IllegalStateException if none appears in time or the block is not a fan-out channel of this format
     */
    public static FanoutChannel attach(ShmHeap heap, String name, Duration wait) throws InterruptedException {
        return validate(heap, name, BLOCK.awaitBound(heap, name, wait));
    }

    private static FanoutChannel validate(ShmHeap heap, String name, long base) {
        long usable = BLOCK.checkHeader(heap, name, base);
        long capacity = heap.getLong(base + CAPACITY_OFFSET);
        long tableSize = heap.getLong(base + SUBSCRIBER_TABLE_SIZE_OFFSET);
        if (capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || Long.bitCount(capacity) != 1
                || SLOTS_OFFSET + capacity * SLOT_LENGTH > usable || tableSize != SUBSCRIBER_TABLE_SIZE) {
            throw new IllegalStateException("fan-out channel '" + name + "' at offset=" + base + " is corrupt: capacity=" + capacity
                    + ", subscriberTableSize=" + tableSize + ", blockSize=" + usable);
        }
        return new FanoutChannel(heap, name, base, (int) capacity);
    }

    /**
     * Attaches the publisher: takes the publisher word if it is 0 or names a dead process, and
     * reopens the stream if a previous publisher had closed it.
     *
     * @throws IllegalStateException if a live process already publishes
     */
    public FanoutPublisher newPublisher() {
        long token = ProcessIdentity.current();
        long word = base + PUBLISHER_OFFSET;
        for (;;) {
            long owner = heap.getLongVolatile(word);
            if (owner != 0 && (owner == token || ProcessIdentity.isAlive(owner))) {
                throw new IllegalStateException("fan-out channel '" + name + "' already has a publisher: " + ProcessIdentity.describe(owner));
            }
            if (heap.compareAndSetLong(word, owner, token)) {
                heap.putLongRelease(base + CLOSED_OFFSET, 0);
                return new FanoutPublisher(this, token);
            }
        }
    }

    /**
     * Attaches a subscriber that receives every message published from now on (it starts at the
     * current tail).
     *
     * @throws IllegalStateException if all {@value FanoutDescriptor#SUBSCRIBER_TABLE_SIZE} entries name live processes
     */
    public FanoutSubscriber newSubscriber() throws InterruptedException {
        long token = ProcessIdentity.current();
        lock(token);
        try {
            for (int index = 0; index < SUBSCRIBER_TABLE_SIZE; index++) {
                long entry = base + entryOffset(index);
                long owner = heap.getLongVolatile(entry + ENTRY_TOKEN_OFFSET);
                if ((owner == 0 || !ProcessIdentity.isAlive(owner)) && heap.compareAndSetLong(entry + ENTRY_TOKEN_OFFSET, owner, token)) {
                    if (owner != 0) {
                        increment(base + DROPPED_OFFSET);
                    }
                    long tail = heap.getLongVolatile(base + TAIL_OFFSET);
                    heap.putLongRelease(entry + ENTRY_POSITION_OFFSET, tail);
                    return new FanoutSubscriber(this, index, token, tail);
                }
            }
        } finally {
            unlock(token);
        }
        throw new IllegalStateException("fan-out channel '" + name + "' has " + SUBSCRIBER_TABLE_SIZE
                + " live subscribers attached; close one");
    }

    /** Takes the reclaim lock, waiting for a live holder and taking it over from a dead one. */
    private void lock(long token) throws InterruptedException {
        Backoff backoff = Backoff.of(Backoff.NO_DEADLINE, 0, 0, LOCK_MAX_PARK_NANOS);
        while (!tryLock(token, true)) {
            if (Thread.interrupted()) {
                throw new InterruptedException("waiting for the reclaim lock of fan-out channel '" + name + "'");
            }
            backoff.idle();
        }
    }

    /**
     * One attempt at the reclaim lock. {@code takeOverDead}: if a process holds it, ask /proc
     * whether it runs and take the lock over if not (a file read, so not on every attempt).
     */
    private boolean tryLock(long token, boolean takeOverDead) {
        long word = base + RECLAIM_LOCK_OFFSET;
        long holder = heap.getLongVolatile(word);
        if (holder == 0) {
            return heap.compareAndSetLong(word, 0, token);
        }
        return takeOverDead && holder != token && !ProcessIdentity.isAlive(holder) && heap.compareAndSetLong(word, holder, token);
    }

    private void unlock(long token) {
        heap.compareAndSetLong(base + RECLAIM_LOCK_OFFSET, token, 0);
    }

    /**
     * Frees every block all live subscribers have passed, if the reclaim lock is free (or held
     * by a dead process); returns at once otherwise.
     *
     * @param dropDead also drop the slowest subscribers if their processes are dead, and take the
     *                 lock over from a dead holder (reads /proc: not for every call)
     * @return the number of blocks freed, or -1 if another process (or thread) holds the lock
     */
    long reclaim(boolean dropDead) {
        long token = ProcessIdentity.current();
        if (!tryLock(token, dropDead)) {
            return -1;
        }
        try {
            long tail = heap.getLongVolatile(base + TAIL_OFFSET);
            long reclaimed = heap.getLongVolatile(base + RECLAIMED_OFFSET);
            long min = minimumPosition(tail, reclaimed);
            if (dropDead && min < tail && dropDeadHolders(min)) {
                min = minimumPosition(tail, reclaimed);
            }
            long freed = 0;
            for (long position = reclaimed; position < min; position++) {
                long slot = slot(position);
                long offset = heap.getLong(slot + SLOT_MESSAGE_OFFSET);
                if (offset != 0) {
                    heap.putLong(slot + SLOT_MESSAGE_OFFSET, 0);
                    heap.free(offset);
                    freed++;
                }
            }
            if (min > reclaimed) {
                heap.putLongRelease(base + RECLAIMED_OFFSET, min);
                add(base + FREED_OFFSET, freed);
            }
            return freed;
        } finally {
            unlock(token);
        }
    }

    /**
     * The smallest position of the attached subscribers, or {@code tail} if none. An entry whose
     * position is {@code JOINING} under the lock (a leaver between its two stores, or a joiner
     * that died holding the lock) counts as {@code reclaimed}: hold everything back this time.
     */
    private long minimumPosition(long tail, long reclaimed) {
        long min = tail;
        for (int index = 0; index < SUBSCRIBER_TABLE_SIZE; index++) {
            long entry = base + entryOffset(index);
            if (heap.getLongVolatile(entry + ENTRY_TOKEN_OFFSET) != 0) {
                long position = heap.getLongVolatile(entry + ENTRY_POSITION_OFFSET);
                min = Math.min(min, position == JOINING ? reclaimed : position);
            }
        }
        return min;
    }

    /**
     * Drops the subscribers at position {@code min} (or JOINING), the ones holding the others
     * back, whose processes are dead: position to JOINING first, then the token cleared with a
     * CAS. Asks /proc only about those, not about every subscriber that lags a little.
     *
     * @return true if any was dropped
     */
    private boolean dropDeadHolders(long min) {
        boolean dropped = false;
        for (int index = 0; index < SUBSCRIBER_TABLE_SIZE; index++) {
            long entry = base + entryOffset(index);
            long owner = heap.getLongVolatile(entry + ENTRY_TOKEN_OFFSET);
            if (owner == 0) {
                continue;
            }
            long position = heap.getLongVolatile(entry + ENTRY_POSITION_OFFSET);
            if ((position == JOINING || position <= min) && !ProcessIdentity.isAlive(owner)) {
                heap.putLongRelease(entry + ENTRY_POSITION_OFFSET, JOINING);
                if (heap.compareAndSetLong(entry + ENTRY_TOKEN_OFFSET, owner, 0)) {
                    increment(base + DROPPED_OFFSET);
                    dropped = true;
                }
            }
        }
        return dropped;
    }

    /**
     * Unbinds the channel and frees its block, after freeing every message still in the ring.
     * Waits up to {@code wait} for live subscribers to leave and for a live publisher (other
     * than this process's closed one) to close.
     *
     * @return the number of messages freed that not every subscriber had passed
     * @throws IllegalStateException if a live subscriber or publisher is still attached after the wait
     */
    public long destroy(Duration wait) throws InterruptedException {
        BLOCK.awaitDetached(name, wait, () -> ChannelBlock.describeLive("subscriber", liveSubscribers(), "publisher",
                heap.getLongVolatile(base + PUBLISHER_OFFSET)));
        reclaim(true);
        long tail = heap.getLongVolatile(base + TAIL_OFFSET);
        long freed = 0;
        for (long position = heap.getLongVolatile(base + RECLAIMED_OFFSET); position < tail; position++) {
            long slot = slot(position);
            long offset = heap.getLong(slot + SLOT_MESSAGE_OFFSET);
            if (offset != 0) {
                heap.putLong(slot + SLOT_MESSAGE_OFFSET, 0);
                heap.free(offset);
                freed++;
            }
        }
        BLOCK.release(heap, name, base);
        return freed;
    }

    /** Tokens of the attached subscribers whose processes run. */
    List<Long> liveSubscribers() {
        return ChannelBlock.liveTokens(heap, base + entryOffset(0) + ENTRY_TOKEN_OFFSET, SUBSCRIBER_TABLE_SIZE, ENTRY_LENGTH);
    }

    /** Counters and positions, read without locks. */
    public FanoutStats stats() {
        int subscribers = 0;
        long slowest = Long.MAX_VALUE;
        for (int index = 0; index < SUBSCRIBER_TABLE_SIZE; index++) {
            long entry = base + entryOffset(index);
            if (heap.getLongVolatile(entry + ENTRY_TOKEN_OFFSET) != 0) {
                subscribers++;
                long position = heap.getLongVolatile(entry + ENTRY_POSITION_OFFSET);
                if (position != JOINING) {
                    slowest = Math.min(slowest, position);
                }
            }
        }
        long tail = heap.getLongVolatile(base + TAIL_OFFSET);
        return new FanoutStats(capacity, tail, heap.getLongVolatile(base + RECLAIMED_OFFSET), slowest == Long.MAX_VALUE ? tail : slowest,
                subscribers, heap.getLongVolatile(base + DROPPED_OFFSET), heap.getLongVolatile(base + FREED_OFFSET),
                heap.getLongVolatile(base + CLOSED_OFFSET) != 0);
    }

    /** True once the publisher closed the stream (and no new publisher reopened it). */
    public boolean isClosed() {
        return heap.getLongVolatile(base + CLOSED_OFFSET) != 0;
    }

    /** True while a publisher is attached and its process runs. */
    public boolean publisherAlive() {
        long publisher = heap.getLongVolatile(base + PUBLISHER_OFFSET);
        return publisher != 0 && ProcessIdentity.isAlive(publisher);
    }

    // ---- shared by FanoutPublisher and FanoutSubscriber ----

    ShmHeap heap() {
        return heap;
    }

    long base() {
        return base;
    }

    long slot(long position) {
        return base + slotOffset(position, capacity);
    }

    void increment(long offset) {
        add(offset, 1);
    }

    private void add(long offset, long delta) {
        long value;
        do {
            value = heap.getLongVolatile(offset);
        } while (!heap.compareAndSetLong(offset, value, value + delta));
    }

    public String name() {
        return name;
    }

    public int capacity() {
        return capacity;
    }

    @Override
    public String toString() {
        return "FanoutChannel{'" + name + "' at offset " + base + ", capacity=" + capacity + "}";
    }
}
