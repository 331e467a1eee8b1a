package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;
import dev.shmheap.ProcessIdentity;
import dev.shmheap.ipc.internal.ChannelBlock;

import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;

import static dev.shmheap.ipc.ChannelDescriptor.*;

/**
 * A many-producer, one-consumer channel of messages over a shared {@link ShmHeap}: a ring of
 * slots in one heap block, found by name through the heap's name directory. A message of up to
 * {@link #inlineCapacity()} bytes travels <em>inside</em> the ring, as a record of as many
 * consecutive slots as its 16-byte header and payload need (packed, as Aeron packs frames in
 * its term: the producer writes it in place, the consumer reads it in place: no allocation, no
 * copy); a longer one travels in its own heap block and only its offset is in the ring (a
 * record of one slot; still no copy). One API
 * serves both: {@link ShmSender#tryClaim(long, ShmClaim)} gives a writable region, then
 * {@link ShmClaim#commit()} or {@link ShmClaim#abort()}; {@link ShmReceiver#read(MessageReader, int)}
 * hands each message to a reader in place.
 *
 * <p>Layout: see {@link ChannelDescriptor}. Protocol, in short:
 * <ol>
 *   <li><b>Attach.</b> A producer takes an entry of the 64-entry producer table with one CAS,
 *       from 0 or from the token of a dead process whose claim the consumer has passed (a dead
 *       process's intent is the only record of its unfinished claim's extent), and sets its
 *       intent words to -1. The
 *       consumer takes the consumer word the same way (one consumer at a time).</li>
 *   <li><b>Claim.</b> Read {@code pos = tail}. A record of {@code n} slots that would cross
 *       the end of the ring is preceded by padding up to it ({@code p} slots, else 0): the
 *       claim is {@code [pos, end = pos + p + n)}. If {@code end - head > capacity} (head
 *       cached, re-read only then), the ring is full. Otherwise store the claim in the
 *       producer's own intent words (start -1, then end, then start {@code pos}: a reader that
 *       reads the same start before and after end has a consistent pair), then CAS tail from
 *       {@code pos} to {@code end}; on failure withdraw the intent and start over. Commit the
 *       padding at once; the record starts at {@code pos + p}.
 *       An exclusive producer ({@link #newExclusiveSender()}) stores tail with an ordered store
 *       instead: nobody else writes it. The claim touches only the tail line and the producer's
 *       own entry: no locked instruction on a slot line that the consumer reads.</li>
 *   <li><b>Commit.</b> Write the header word (kind and length) and the payload or the block
 *       offset, then store the sequence {@code pos + capacity} with one ordered store, then
 *       read the consumer's waiting word: only if the consumer said it sleeps, clear the word
 *       and FUTEX_WAKE it (no system call while it is awake, and no fence: see "Sleep").
 *       {@link ShmClaim#abort()} commits a PADDING header instead: the consumer passes it.</li>
 *   <li><b>Read.</b> At {@code head}: sequence {@code head + capacity} means committed: the
 *       header says how many slots the record takes; hand the message to the reader in place,
 *       then <em>restore</em> the sequence word of every slot of the record after its first
 *       (the payload overwrote them) to {@code position + capacity}, the value a consumed slot
 *       holds, so that no leftover payload is ever taken for the next lap's commit
 *       ({@code position + 2 x capacity}); go on up to the batch limit, then store head once
 *       for the whole batch (that releases every slot of the batch) and only then free the
 *       batch's offset blocks. The consumer writes slot lines only for those restores, which
 *       lie on lines it has just read.</li>
 *   <li><b>Sleep.</b> The consumer sets the waiting word with a CAS (a full fence), re-checks
 *       the slot at head, and sleeps in FUTEX_WAIT on the word. The producer has no fence
 *       between its commit and its read of the waiting word (a fence per message would drain
 *       its store buffer, which waits for the slot lines to come back from the consumer), so
 *       that read may pass the commit: the producer can read "awake" while the consumer's
 *       re-check does not yet see the commit. Such a commit is in the producer's store buffer,
 *       which drains within microseconds (a descheduled CPU has drained it). So the first sleep
 *       after each announcement lasts at most {@link ConsumerSleep#FIRST_SLEEP_NANOS}; the
 *       re-check after it sees every commit whose wake-up could have been missed, and every
 *       later commit finds the waiting word set. A missed wake-up costs at most that much
 *       latency, never a message.</li>
 * </ol>
 *
 * <p><b>Crashes.</b> A message is visible to the consumer only once its sequence says
 * committed, one ordered store after the producer wrote header and payload: it is entirely
 * there or not at all. A producer killed between claim and commit leaves a position below
 * tail that never commits. When the consumer has found such a position at head for
 * {@link #LIVENESS_CHECK_NANOS}, it looks for its claimant: the table entry whose intent covers
 * that position ({@link #deadClaimEnd}). The claimant stores its intent before its tail CAS and
 * keeps it until it has committed, and a dead process's entry is not taken over before the
 * consumer has passed its claim; so if the covering entry names a dead process, the claim is
 * dead, and its intent's end is its extent (a producer whose tail CAS failed withdraws its
 * intent at once, so a stale intent only makes the consumer wait a little longer; no covering
 * entry, or one changing as it is read, makes it wait too). The consumer then stores a padding
 * header over the extent from the position (up to the end of the ring at most: a claim that
 * began with padding is passed in two steps) and CASes the sequence from {@code pos} to
 * {@code pos + capacity} (counted in {@link ChannelStats#skippedSlots()}). A live producer's claim is never taken from it, so its
 * commit can be a plain store. Other producers are never wedged by a dead claim: tail has
 * already moved past it. What a dead
 * process held is leaked, not reclaimed: the block a killed producer allocated for an offset
 * message, and the offset blocks of a batch the consumer had released but not yet freed. A
 * consumer killed inside a batch has not stored head for it: the next receiver delivers that
 * batch again (at least once across consumer crashes, exactly once otherwise), and because the
 * blocks of a batch are freed only after head is stored, none of them has been freed.
 *
 * <p>Instances are thread-safe; senders and receivers are meant for one thread each.
 */
public final class ShmChannel {
    /** How long a slot may stay claimed at head before the consumer asks whether its producer is alive. */
    static final long LIVENESS_CHECK_NANOS = 1_000_000;
    /** Create, attach, header checks and destroy: shared with the fan-out channel. */
    private static final ChannelBlock BLOCK = new ChannelBlock("channel", MAGIC_OFFSET, MAGIC, SLOTS_OFFSET);

    private final ShmHeap heap;
    private final String name;
    private final long base;
    private final int capacity;
    private final int slotLength;
    private final long futexAddress;
    private final ChannelMemory memory;

    private ShmChannel(ShmHeap heap, String name, long base, int capacity, int slotLength) {
        this.heap = heap;
        this.name = name;
        this.base = base;
        this.capacity = capacity;
        this.slotLength = slotLength;
        long waiting = heap.address(base + WAITING_OFFSET);
        // The futex word is the low half of the waiting long, wherever the byte order puts it.
        this.futexAddress = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? waiting : waiting + Integer.BYTES;
        this.memory = new ChannelMemory(heap, base, SLOTS_OFFSET + (long) capacity * slotLength);
    }

    /**
     * Allocates a channel of {@code capacity} slots of {@link ChannelDescriptor#DEFAULT_SLOT_LENGTH}
     * bytes in {@code heap} and binds it to {@code name}.
     *
     * @see #create(ShmHeap, String, int, int)
     */
    public static ShmChannel create(ShmHeap heap, String name, int capacity) {
        return create(heap, name, capacity, DEFAULT_SLOT_LENGTH);
    }

    /**
     * Allocates a channel of {@code capacity} slots of {@code slotLength} bytes in {@code heap}
     * and binds it to {@code name}. Messages of up to {@code slotLength - 16} bytes travel
     * inline, longer ones by offset.
     *
     * @throws IllegalArgumentException if the capacity is not a power of two in 2..2^24, the slot
     *                                  length not a multiple of 16 in 32..65536, the ring larger
     *                                  than 1 GiB, or the name is invalid
     * @throws IllegalStateException    if {@code name} is already bound
     * @throws dev.shmheap.HeapFullException if the heap has no room for the block
     */
    public static ShmChannel create(ShmHeap heap, String name, int capacity, int slotLength) {
        long base = BLOCK.create(heap, name, blockLength(capacity, slotLength), REGION_LENGTH, at -> {
            heap.putLong(at + CAPACITY_OFFSET, capacity);
            heap.putLong(at + PRODUCER_TABLE_SIZE_OFFSET, PRODUCER_TABLE_SIZE);
            heap.putLong(at + CREATOR_OFFSET, ProcessIdentity.current());
            heap.putLong(at + SLOT_LENGTH_FIELD_OFFSET, slotLength);
            for (long pos = 0; pos < capacity; pos++) {
                long slot = at + slotOffset(pos, capacity, slotLength);
                heap.putLong(slot + SLOT_HEADER_OFFSET, header(PADDING, 0));
                heap.putLong(slot + SLOT_SEQUENCE_OFFSET, pos);
            }
        });
        return new ShmChannel(heap, name, base, capacity, slotLength);
    }

    /**
     * Attaches to the channel bound to {@code name} if there is one, else creates it with
     * {@code capacity} slots of {@link ChannelDescriptor#DEFAULT_SLOT_LENGTH} bytes.
     *
     * @see #openOrCreate(ShmHeap, String, int, int)
     */
    public static ShmChannel openOrCreate(ShmHeap heap, String name, int capacity) {
        return openOrCreate(heap, name, capacity, DEFAULT_SLOT_LENGTH);
    }

    /**
     * Attaches to the channel bound to {@code name} if there is one, else creates it: a program
     * rerun after one that did not {@link #destroy} its channel (it was killed, or it leaves the
     * channel for the next run) gets the same channel back, with every message still in it and
     * the dead run's producer entries and consumer word taken over by whoever attaches next.
     * Two processes racing here get one channel: the one whose bind loses attaches to the other's.
     *
     * @throws IllegalArgumentException as {@link #create(ShmHeap, String, int, int)}
     * @throws IllegalStateException    if the channel bound to {@code name} has another capacity or
     *                                  slot length (both named), or is not a channel of this format
     * @throws dev.shmheap.HeapFullException if the channel must be created and the heap has no room
     */
    public static ShmChannel openOrCreate(ShmHeap heap, String name, int capacity, int slotLength) {
        blockLength(capacity, slotLength); // bad arguments fail the same way whether the name is bound or not
        return BLOCK.openOrCreate(heap, name, base -> {
            ShmChannel channel = validate(heap, name, base);
            if (channel.capacity != capacity || channel.slotLength != slotLength) {
                throw new IllegalStateException("channel '" + name + "' in heap " + heap.path() + " exists with capacity="
                        + channel.capacity + ", slotLength=" + channel.slotLength + "; asked for capacity=" + capacity
                        + ", slotLength=" + slotLength);
            }
            return channel;
        }, () -> create(heap, name, capacity, slotLength));
    }

    /**
     * Attaches to the channel bound to {@code name}, waiting up to {@code wait} for another
     * process to create it.
     *
     * @throws IllegalStateException if no channel appears in time, or the block bound to the
     *                               name is not a channel of this format
     */
    public static ShmChannel attach(ShmHeap heap, String name, Duration wait) throws InterruptedException {
        return validate(heap, name, BLOCK.awaitBound(heap, name, wait));
    }

    private static ShmChannel validate(ShmHeap heap, String name, long base) {
        long usable = BLOCK.checkHeader(heap, name, base);
        long capacity = heap.getLong(base + CAPACITY_OFFSET);
        long tableSize = heap.getLong(base + PRODUCER_TABLE_SIZE_OFFSET);
        long slotLength = heap.getLong(base + SLOT_LENGTH_FIELD_OFFSET);
        if (capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || Long.bitCount(capacity) != 1
                || !isSlotLength(slotLength)
                || capacity * slotLength > MAX_RING_BYTES
                || SLOTS_OFFSET + capacity * slotLength > usable || tableSize != PRODUCER_TABLE_SIZE) {
            throw new IllegalStateException("channel '" + name + "' at offset " + base + " is corrupt: capacity=" + capacity
                    + ", slotLength=" + slotLength + ", producerTableSize=" + tableSize + ", blockSize=" + usable
                    + "; expected a power-of-two capacity, a slot length that is a multiple of " + SLOT_ALIGNMENT
                    + " in [" + MIN_SLOT_LENGTH + ", " + MAX_SLOT_LENGTH + "], slots that fit, and producerTableSize=" + PRODUCER_TABLE_SIZE);
        }
        return new ShmChannel(heap, name, base, (int) capacity, (int) slotLength);
    }

    /**
     * Unbinds the channel and frees its block, after freeing every message still published in
     * the ring. Waits up to {@code waitForProducers} for attached producers to detach (dead ones
     * do not count) and for any live consumer to close its receiver.
     *
     * @return the number of undelivered messages dropped (their offset blocks freed)
     * @throws IllegalStateException if a live producer or consumer is still attached after the wait
     */
    public long destroy(Duration waitForProducers) throws InterruptedException {
        BLOCK.awaitDetached(name, waitForProducers, () -> ChannelBlock.describeLive("producer", liveProducers(), "consumer",
                heap.getLongVolatile(base + CONSUMER_OFFSET)));
        long freed = 0;
        long tail = heap.getLongVolatile(base + TAIL_OFFSET);
        // Record by record from head: a committed record says how many slots it takes, a dead
        // claim's extent is in its claimant's entry; past anything else nothing is known.
        for (long pos = heap.getLongVolatile(base + HEAD_OFFSET); pos < tail; ) {
            long slot = slot(pos);
            long next;
            if (heap.getLongVolatile(slot + SLOT_SEQUENCE_OFFSET) == pos + capacity) {
                long header = heap.getLong(slot + SLOT_HEADER_OFFSET);
                long slots = recordSlots(kind(header), length(header), slotLength);
                if (slots < 1 || slots > capacity) {
                    break;
                }
                if (kind(header) == OFFSET) {
                    heap.free(heap.getLong(slot + SLOT_MESSAGE_OFFSET));
                }
                if (kind(header) != PADDING) {
                    freed++;
                }
                next = pos + slots;
            } else {
                next = deadClaimEnd(pos);
                if (next == LIVE_OR_UNKNOWN_CLAIM) {
                    break;
                }
            }
            pos = next;
        }
        BLOCK.release(heap, name, base);
        return freed;
    }

    /**
     * Attaches a producer: takes the first entry of the producer table that is free or names a
     * dead process, with one CAS.
     *
     * @throws IllegalStateException if all 64 entries name live processes, or an exclusive
     *                               producer is attached
     */
    public ShmSender newSender() {
        refuseIfExclusive();
        ShmSender sender = takeEntry(false);
        // Taking the entry was a CAS (a full fence): an exclusive producer that attached
        // meanwhile either sees this entry or is seen here.
        try {
            refuseIfExclusive();
        } catch (IllegalStateException e) {
            sender.close();
            throw e;
        }
        return sender;
    }

    /**
     * Attaches the only producer of this channel, as Aeron's exclusive publication: its claims
     * take no atomic instruction (tail is its alone, advanced with an ordered store), and no other
     * producer may attach until it closes or its process dies.
     *
     * @throws IllegalStateException if a live producer is attached, or another exclusive one
     */
    public ShmSender newExclusiveSender() {
        long token = ProcessIdentity.current();
        long word = base + EXCLUSIVE_OFFSET;
        long owner = heap.getLongVolatile(word);
        if (owner != 0 && (owner == token || ProcessIdentity.isAlive(owner))) {
            throw new IllegalStateException("channel '" + name + "' already has an exclusive producer: " + ProcessIdentity.describe(owner));
        }
        if (!heap.compareAndSetLong(word, owner, token)) {
            throw new IllegalStateException("channel '" + name + "': another exclusive producer attached at the same time");
        }
        // The CAS above is a full fence: a shared producer attaching meanwhile either sees the
        // exclusive word or is seen here.
        List<Long> live = liveProducers();
        if (!live.isEmpty()) {
            heap.compareAndSetLong(word, token, 0);
            throw new IllegalStateException("channel '" + name + "' has " + live.size() + " live producer(s) attached: "
                    + ProcessIdentity.describe(live.get(0)) + "; an exclusive producer must be the only one");
        }
        return takeEntry(true);
    }

    private void refuseIfExclusive() {
        long exclusive = heap.getLongVolatile(base + EXCLUSIVE_OFFSET);
        if (exclusive != 0 && ProcessIdentity.isAlive(exclusive)) {
            throw new IllegalStateException("channel '" + name + "' has an exclusive producer: " + ProcessIdentity.describe(exclusive));
        }
    }

    private ShmSender takeEntry(boolean exclusive) {
        long token = ProcessIdentity.current();
        for (int index = 0; index < PRODUCER_TABLE_SIZE; index++) {
            long entry = base + producerEntryOffset(index);
            long owner = heap.getLongVolatile(entry);
            // A dead owner's entry whose claim the consumer has not passed yet keeps its intent:
            // it is the only record of that claim's extent, which the consumer skips exactly.
            if ((owner == 0 || (owner != token && !ProcessIdentity.isAlive(owner) && !claimOutstanding(index)))
                    && heap.compareAndSetLong(entry, owner, token)) {
                heap.putLongRelease(base + intentOffset(index), NO_INTENT);
                heap.putLongRelease(base + intentEndOffset(index), NO_INTENT);
                return new ShmSender(this, index, token, exclusive);
            }
        }
        if (exclusive) {
            heap.compareAndSetLong(base + EXCLUSIVE_OFFSET, token, 0);
        }
        throw new IllegalStateException("channel '" + name + "' has " + PRODUCER_TABLE_SIZE + " live producers attached; close one");
    }

    /**
     * Attaches the consumer.
     *
     * @throws IllegalStateException if a live process already consumes from this channel
     */
    public ShmReceiver newReceiver() {
        long token = ProcessIdentity.current();
        long word = base + CONSUMER_OFFSET;
        for (;;) {
            long owner = heap.getLongVolatile(word);
            if (owner != 0 && (owner == token || ProcessIdentity.isAlive(owner))) {
                throw new IllegalStateException("channel '" + name + "' already has a consumer: " + ProcessIdentity.describe(owner));
            }
            if (heap.compareAndSetLong(word, owner, token)) {
                return new ShmReceiver(this, token, recoverHead());
            }
        }
    }

    /**
     * The position the consumer continues from: head, as the last receiver stored it after its
     * last complete batch. The consumer never writes slots, so there is nothing else to repair.
     */
    private long recoverHead() {
        return heap.getLongVolatile(base + HEAD_OFFSET);
    }

    List<Long> liveProducers() {
        return ChannelBlock.liveTokens(heap, base + producerEntryOffset(0), PRODUCER_TABLE_SIZE, PRODUCER_ENTRY_LENGTH);
    }

    /** Counters and positions, read without locks. */
    public ChannelStats stats() {
        long head = heap.getLongVolatile(base + HEAD_OFFSET);
        long tail = heap.getLongVolatile(base + TAIL_OFFSET);
        int producers = 0;
        for (int index = 0; index < PRODUCER_TABLE_SIZE; index++) {
            if (heap.getLongVolatile(base + producerEntryOffset(index)) != 0) {
                producers++;
            }
        }
        return new ChannelStats(capacity, tail, head, heap.getLongVolatile(base + SKIPPED_OFFSET),
                heap.getLongVolatile(base + FUTEX_WAITS_OFFSET), heap.getLongVolatile(base + FUTEX_WAKES_OFFSET), producers,
                heap.getLongVolatile(base + CONSUMER_OFFSET) != 0, consumerWaiting(), slotLength,
                heap.getLongVolatile(base + INLINE_COUNT_OFFSET), heap.getLongVolatile(base + OFFSET_COUNT_OFFSET));
    }

    /** True while the consumer has announced that it sleeps (or is about to) in a futex wait. */
    public boolean consumerWaiting() {
        return heap.getLongVolatile(base + WAITING_OFFSET) != 0;
    }

    // ---- shared by ShmSender and ShmReceiver ----

    ShmHeap heap() {
        return heap;
    }

    long base() {
        return base;
    }

    /** Heap offset of the slot that serves {@code position}. */
    long slot(long position) {
        return base + slotOffset(position, capacity, slotLength);
    }

    /** The channel's block, for accesses at offsets relative to it (see {@link ChannelMemory}). */
    ChannelMemory memory() {
        return memory;
    }

    long futexAddress() {
        return futexAddress;
    }

    /**
     * Called by a producer after a commit: wakes the consumer if it said it sleeps (the read may
     * pass the commit; see "Sleep" in the class comment for why that only delays a wake-up). Clearing the word first makes only
     * one producer issue the system call per sleep.
     */
    void wakeConsumer() {
        if (memory.getLongVolatile(WAITING_OFFSET) != 0 && memory.compareAndSetLong(WAITING_OFFSET, 1, 0)) {
            if (Futex.AVAILABLE) {
                Futex.wake(futexAddress, 1);
            }
            increment(base + FUTEX_WAKES_OFFSET);
        }
    }

    /** {@link #deadClaimEnd}: a live producer may hold the position, or no intent names it (yet): wait. */
    static final long LIVE_OR_UNKNOWN_CLAIM = -1;

    /**
     * Who holds the claimed, uncommitted {@code position}: {@link #LIVE_OR_UNKNOWN_CLAIM} if a
     * live producer's intent covers it, if an intent is changing as it is read, or if none
     * covers it; else the end of the dead claimant's extent, which the consumer skips. An intent
     * is read start, end, start again: a producer sets start to {@link ChannelDescriptor#NO_INTENT}
     * before it changes end, so two equal reads of start frame an end of the same claim. Reads
     * /proc once per covering entry (the caller does this rarely).
     */
    long deadClaimEnd(long position) {
        long deadEnd = LIVE_OR_UNKNOWN_CLAIM;
        for (int index = 0; index < PRODUCER_TABLE_SIZE; index++) {
            long start = heap.getLongVolatile(base + intentOffset(index));
            long end = heap.getLongVolatile(base + intentEndOffset(index));
            if (heap.getLongVolatile(base + intentOffset(index)) != start) {
                return LIVE_OR_UNKNOWN_CLAIM; // changing: its producer runs
            }
            if (start == NO_INTENT || position < start || position >= end) {
                continue;
            }
            long owner = heap.getLongVolatile(base + producerEntryOffset(index));
            if (owner != 0 && ProcessIdentity.isAlive(owner)) {
                return LIVE_OR_UNKNOWN_CLAIM;
            }
            deadEnd = end;
        }
        return deadEnd;
    }

    /** True if entry {@code index} names a claim whose end the consumer has not passed. */
    private boolean claimOutstanding(int index) {
        long start = heap.getLongVolatile(base + intentOffset(index));
        return start != NO_INTENT && heap.getLongVolatile(base + intentEndOffset(index)) > heap.getLongVolatile(base + HEAD_OFFSET);
    }

    void increment(long offset) {
        long value;
        do {
            value = heap.getLongVolatile(offset);
        } while (!heap.compareAndSetLong(offset, value, value + 1));
    }

    public String name() {
        return name;
    }

    public int capacity() {
        return capacity;
    }

    /** Bytes of one slot. */
    public int slotLength() {
        return slotLength;
    }

    /** Largest message that travels inline (in the slots of one record); longer ones travel by offset. */
    public int inlineCapacity() {
        return ChannelDescriptor.inlineCapacity(capacity, slotLength);
    }

    /** Offset of the channel's block in the heap. */
    public long offset() {
        return base;
    }

    @Override
    public String toString() {
        return "ShmChannel{'" + name + "' at offset " + base + ", capacity=" + capacity + ", slotLength=" + slotLength + "}";
    }
}
