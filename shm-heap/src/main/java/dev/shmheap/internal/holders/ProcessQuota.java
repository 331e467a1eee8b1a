package dev.shmheap.internal.holders;

import dev.shmheap.internal.layout.HeaderDescriptor;
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
 * The estimate starts from a census when the quota is first seen set.
 */
public final class ProcessQuota {
    private final MappedMemory memory;
    private final LongSupplier census;
    private final AtomicLong held = new AtomicLong();
    private volatile long seededFor;

    /** @param census the exact bytes this process holds, by a walk */
    public ProcessQuota(MappedMemory memory, LongSupplier census) {
        this.memory = memory;
        this.census = census;
    }

    /** The quota in bytes, 0 when none is set. */
    public long limit() {
        return memory.getLongVolatile(HeaderDescriptor.PROCESS_QUOTA_OFFSET);
    }

    public void setLimit(long bytes) {
        memory.putLongVolatile(HeaderDescriptor.PROCESS_QUOTA_OFFSET, bytes);
    }

    /**
     * Whether this process may take {@code bytes} more under quota {@code limit}; when it may,
     * they are counted as held. The caller un-counts them if the allocation then fails.
     */
    public boolean admit(long bytes, long limit) {
        if (seededFor != limit) {
            seed(limit);
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

    /** Called while no quota is set: the estimate is not kept then, so the next quota reseeds it. */
    public void unset() {
        if (seededFor != 0) {
            seededFor = 0;
        }
    }

    /** The bytes this process holds by the estimate (exact after a refusal). */
    public long held() {
        return held.get();
    }

    public void add(long bytes) {
        held.addAndGet(bytes);
    }

    private synchronized void seed(long limit) {
        if (seededFor != limit) {
            held.set(census.getAsLong());
            seededFor = limit;
        }
    }
}
