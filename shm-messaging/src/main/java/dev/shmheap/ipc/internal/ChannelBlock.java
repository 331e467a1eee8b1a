package dev.shmheap.ipc.internal;

import dev.shmheap.Backoff;
import dev.shmheap.ProcessIdentity;
import dev.shmheap.ShmHeap;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.LongConsumer;
import java.util.function.LongFunction;
import java.util.function.Supplier;

/**
 * The life cycle that {@code ShmChannel} and {@code FanoutChannel} share: a channel is one heap
 * block bound to a name, whose magic word (the format and its version) is release-stored last
 * when it is created, so that a process that finds the name bound finds the block complete, and
 * cleared when it is destroyed. One instance per channel format. Not API: the package is
 * internal to shm-messaging and may change in any release.
 */
public final class ChannelBlock {
    /** Longest pause of {@link #awaitBound} waiting for a creator: a channel appears within 20 ms of its bind. */
    private static final long ATTACH_MAX_PARK_NANOS = 20_000_000;
    /** Longest pause of {@link #awaitDetached}: a detach is noticed within 1 ms. */
    private static final long DETACH_MAX_PARK_NANOS = 1_000_000;

    private final String kind;
    private final long magicOffset;
    private final long magic;
    private final long headerLength;

    /**
     * @param kind         what the format is called in messages ("channel", "fan-out channel")
     * @param magicOffset  where the magic word lies in the block
     * @param magic        the format's magic, version included
     * @param headerLength bytes before the slots: a block must hold at least these, and create zeroes them
     */
    public ChannelBlock(String kind, long magicOffset, long magic, long headerLength) {
        this.kind = kind;
        this.magicOffset = magicOffset;
        this.magic = magic;
        this.headerLength = headerLength;
    }

    /**
     * Allocates {@code length} bytes aligned to {@code alignment}, zeroes the header, lets
     * {@code layout} write the rest (it gets the block's offset), release-stores the magic and
     * binds {@code name}; on any failure the block is freed again.
     *
     * @return the block's offset
     * @throws IllegalStateException if {@code name} is already bound
     */
    public long create(ShmHeap heap, String name, long length, long alignment, LongConsumer layout) {
        long base = heap.allocate(length, alignment);
        try {
            for (long i = 0; i < headerLength; i += Long.BYTES) {
                heap.putLong(base + i, 0);
            }
            layout.accept(base);
            heap.putLongRelease(base + magicOffset, magic);
            heap.bind(name, base);
        } catch (RuntimeException e) {
            heap.free(base);
            throw e;
        }
        return base;
    }

    /**
     * Waits up to {@code wait} for {@code name} to be bound.
     *
     * @return the bound block's offset
     * @throws IllegalStateException if it is not bound in time
     */
    public long awaitBound(ShmHeap heap, String name, Duration wait) throws InterruptedException {
        Backoff backoff = Backoff.of(wait.toNanos(), 0, 0, ATTACH_MAX_PARK_NANOS);
        for (;;) {
            OptionalLong bound = heap.lookup(name);
            if (bound.isPresent()) {
                return bound.getAsLong();
            }
            if (Thread.interrupted()) {
                throw new InterruptedException("waiting for " + kind + " '" + name + "'");
            }
            if (!backoff.idle()) {
                throw new IllegalStateException("no " + kind + " named '" + name + "' appeared in heap " + heap.path() + " within " + wait);
            }
        }
    }

    /**
     * Checks that the block at {@code base} holds at least the header and carries this format's
     * magic (read with acquire: what the creator wrote before it is visible).
     *
     * @return the block's usable size, for the caller's own checks of what follows the header
     * @throws IllegalStateException naming the offset, the sizes or both magics
     */
    public long checkHeader(ShmHeap heap, String name, long base) {
        long usable = heap.usableSize(base);
        if (usable < headerLength) {
            throw new IllegalStateException("'" + name + "' names a block of " + usable + " bytes at offset=" + base
                    + ": too small for a " + kind + " (at least " + headerLength + ")");
        }
        long found = heap.getLongVolatile(base + magicOffset);
        if (found != magic) {
            throw new IllegalStateException("'" + name + "' at offset=" + base + " is not a " + kind + " of this version: magic=0x"
                    + Long.toHexString(found) + ", expected 0x" + Long.toHexString(magic));
        }
        return usable;
    }

    /**
     * Attaches to the channel bound to {@code name} with {@code attach} (given the block's
     * offset), else creates one with {@code create}; a create that loses the race to bind (another
     * process created the channel meanwhile) attaches to the winner's.
     */
    public <C> C openOrCreate(ShmHeap heap, String name, LongFunction<C> attach, Supplier<C> create) {
        for (;;) {
            OptionalLong bound = heap.lookup(name);
            if (bound.isPresent()) {
                return attach.apply(bound.getAsLong());
            }
            try {
                return create.get();
            } catch (IllegalStateException e) {
                if (heap.lookup(name).isEmpty()) {
                    throw e; // not the lost race: the bind failed for another reason
                }
            }
        }
    }

    /**
     * Waits up to {@code wait} until {@code attached} describes nobody (returns an empty string;
     * else a list such as " producer pid 12 ...;").
     *
     * @throws IllegalStateException naming who is still attached after the wait
     */
    public void awaitDetached(String name, Duration wait, Supplier<String> attached) throws InterruptedException {
        Backoff backoff = Backoff.of(wait.toNanos(), 0, 0, DETACH_MAX_PARK_NANOS);
        for (;;) {
            String who = attached.get();
            if (who.isEmpty()) {
                return;
            }
            if (backoff.expired()) {
                throw new IllegalStateException("cannot destroy " + kind + " '" + name + "': still attached:" + who);
            }
            if (Thread.interrupted()) {
                throw new InterruptedException("destroying " + kind + " '" + name + "'");
            }
            backoff.idle();
        }
    }

    /** Unbinds {@code name}, clears the magic (a stale attacher's next check fails) and frees the block. */
    public void release(ShmHeap heap, String name, long base) {
        heap.unbind(name);
        heap.putLongRelease(base + magicOffset, 0);
        heap.free(base);
    }

    /**
     * The tokens of a table's entries that name live processes: {@code entries} token words,
     * the first at {@code firstToken}, {@code entryLength} bytes apart.
     */
    public static List<Long> liveTokens(ShmHeap heap, long firstToken, int entries, long entryLength) {
        List<Long> live = new ArrayList<>();
        for (int index = 0; index < entries; index++) {
            long owner = heap.getLongVolatile(firstToken + index * entryLength);
            if (owner != 0 && ProcessIdentity.isAlive(owner)) {
                live.add(owner);
            }
        }
        return live;
    }

    /** {@code " ROLE pid ...;"} for each live token, and for {@code single} if it is live too (0: none): who is attached. */
    public static String describeLive(String role, List<Long> live, String singleRole, long single) {
        StringBuilder who = new StringBuilder();
        for (long token : live) {
            who.append(' ').append(role).append(' ').append(ProcessIdentity.describe(token)).append(';');
        }
        if (single != 0 && ProcessIdentity.isAlive(single)) {
            who.append(' ').append(singleRole).append(' ').append(ProcessIdentity.describe(single)).append(';');
        }
        return who.toString();
    }
}
