package dev.shmheap.bench.messaging;

/**
 * A busy-spin wait that gives up after a time limit, so that a dead peer ends a measurement
 * with an exception instead of a hang. The clock is read only every 65,536 spins.
 */
final class Spin {
    private final long limitNanos;
    private final String what;
    private final PeerJvm peer;
    private int spins;
    private long deadline;

    Spin(long limitNanos, String what) {
        this(limitNanos, what, null);
    }

    /** Also checks, whenever it reads the clock, that {@code peer} is still running. */
    Spin(long limitNanos, String what, PeerJvm peer) {
        this.limitNanos = limitNanos;
        this.what = what;
        this.peer = peer;
    }

    /** Call once per unsuccessful attempt. */
    void spin() {
        Thread.onSpinWait();
        if ((++spins & 0xFFFF) == 0) {
            if (peer != null) {
                peer.checkAlive();
            }
            long now = System.nanoTime();
            if (deadline == 0) {
                deadline = now + limitNanos;
            } else if (now - deadline >= 0) {
                throw new IllegalStateException("gave up " + what + " after " + limitNanos / 1_000_000 + " ms");
            }
        }
    }

    /** Call after a successful attempt: the next wait gets the whole limit again. */
    void reset() {
        spins = 0;
        deadline = 0;
    }
}
