package dev.shmheap.internal.buddy;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The lock of one attachment's {@link BuddyCache} among the threads of its process (no other
 * process ever takes it). One CAS takes it and a release store gives it up, where a monitor's
 * exit is a second CAS: on the allocate+free pair of a cached size that is two atomic
 * operations fewer. A taker that finds it held spins briefly, then yields: a section is a few
 * stores, or one buddy lock section when the cache refills or gives back.
 */
final class CacheLock {
    private static final int SPINS = 100;
    private final AtomicInteger held = new AtomicInteger();

    void lock() {
        if (!held.compareAndSet(0, 1)) {
            lockSlow();
        }
    }

    private void lockSlow() {
        int spins = 0;
        while (held.get() != 0 || !held.compareAndSet(0, 1)) {
            if (++spins < SPINS) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    void unlock() {
        held.setRelease(0);
    }
}
