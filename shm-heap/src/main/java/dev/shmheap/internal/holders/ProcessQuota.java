package dev.shmheap.internal.holders;

import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.memory.Counters;
import dev.shmheap.internal.memory.MappedMemory;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The per-process quota (header field, 0 = none): no process may hold more bytes than it.
 * Costs one read of the header word per allocation while no quota is set.
 *
 * <p>While a quota is set each attachment keeps an estimate of the bytes its process holds:
 * it adds what it allocates and takes over, and subtracts what it frees, shares or hands off of
 * its own. Another process freeing one of its blocks is not seen, so the estimate is never
 * below the truth: a request that would cross the quota by the estimate first recounts the
 * process's holdings exactly (a census of its slot), and is refused only if the recount agrees.
 * The estimate starts from a census whenever the quota generation (bumped by every
 * {@link #setLimit}) differs from the one it was seeded for, since while no quota is set the
 * estimate is not kept.
 */
public final class ProcessQuota {
    private final MappedMemory memory;
    private final LongSupplier census;
    private final AtomicLong held = new AtomicLong();
    /** The quota generation the estimate was seeded for; -1 = never. */
    private volatile long seededFor = -1;

    /** @param census the exact bytes this process holds, by a walk */
    public ProcessQuota(MappedMemory memory, LongSupplier census) {
        this.memory = memory;
        this.census = census;
    }

    /**
     * The quota in bytes, 0 when none is set. On every allocation and free, so one plain,
     * unchecked read of a fixed header word: not volatile, which would order every later load
     * after it; the stores each allocation and free make to the mapping keep the JIT from
     * hoisting the read out of a caller's loop, so a quota set by another process is seen by the
     * next call.
     */
    public long limit() {
        return memory.getLongUnchecked(HeaderDescriptor.PROCESS_QUOTA_OFFSET);
    }

    /**
     * Sets the quota, and bumps the quota generation first, so that every attachment reseeds its
     * estimate (which it does not keep while no quota is set) when it next sees a quota.
     */
    public void setLimit(long bytes) {
        Counters.addAtomic(memory, HeaderDescriptor.QUOTA_GENERATION_OFFSET, 1);
        memory.putLongVolatile(HeaderDescriptor.PROCESS_QUOTA_OFFSET, bytes);
    }

    /**
     * Whether this process may take {@code bytes} more under quota {@code limit}; when it may,
     * they are counted as held. The caller un-counts them if the allocation then fails.
     */
    public boolean admit(long bytes, long limit) {
        if (seededFor != generation()) {
            seed();
        }
        if (held.addAndGet(bytes) <= limit) {
            return true;
        }
        held.addAndGet(-bytes);
        synchronized (this) {
            held.set(census.getAsLong());
            if (held.addAndGet(bytes) <= limit) {
                return true;
            }
            held.addAndGet(-bytes);
            return false;
        }
    }

    /** The bytes this process holds by the estimate (exact after a refusal). */
    public long held() {
        return held.get();
    }

    public void add(long bytes) {
        held.addAndGet(bytes);
    }

    private long generation() {
        return memory.getLongVolatile(HeaderDescriptor.QUOTA_GENERATION_OFFSET);
    }

    private synchronized void seed() {
        long generation = generation();
        if (seededFor != generation) {
            held.set(census.getAsLong());
            seededFor = generation;
        }
    }
}
