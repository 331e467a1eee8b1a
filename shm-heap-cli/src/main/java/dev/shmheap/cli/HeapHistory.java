package dev.shmheap.cli;

import dev.shmheap.HeapStats;
import dev.shmheap.SizeClassStats;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * What {@code serve}'s page draws over time for one heap: the last {@code capacity} samples
 * (one per sampling interval), the latest snapshot, and the recovery events seen between
 * samples (lock takeovers and reclamations, from the growth of the heap's lifetime counters).
 * Thread-safe: the sampler adds, HTTP threads read copies.
 */
final class HeapHistory {
    /** Recovery events kept for the page: the newest ones. */
    static final int EVENTS_KEPT = 50;

    /**
     * One sample. Rates are per second over the interval since the previous sample, -1 for the
     * first one (no interval yet). Allocations count slab blocks and buddy blocks handed out
     * (slab sets taken from the buddy included), frees likewise: what {@code top}'s rows add up to.
     */
    record Sample(long millis, boolean up, long used, long available, long largestFree, double allocationsPerSecond,
                  double freesPerSecond) {
    }

    /** Growth of a lifetime counter between two samples: {@code kind} is "takeover" or "reclaim". */
    record Event(long millis, String kind, long count, long bytes) {
    }

    private final int capacity;
    private final Deque<Sample> samples = new ArrayDeque<>();
    private final Deque<Event> events = new ArrayDeque<>();
    private HeapSnapshot latest;

    HeapHistory(int capacity) {
        if (capacity < 2) {
            throw new IllegalArgumentException("capacity=" + capacity + " must be at least 2 samples");
        }
        this.capacity = capacity;
    }

    /** Adds the snapshot of this interval. */
    synchronized void add(HeapSnapshot snapshot) {
        HeapStats s = snapshot.stats();
        double allocationRate = -1;
        double freeRate = -1;
        if (latest != null && snapshot.takenMillis() > latest.takenMillis()) {
            HeapStats before = latest.stats();
            double seconds = (snapshot.takenMillis() - latest.takenMillis()) / 1000.0;
            allocationRate = Math.max(0, allocations(s) - allocations(before)) / seconds;
            freeRate = Math.max(0, frees(s) - frees(before)) / seconds;
            note(snapshot.takenMillis(), "takeover", s.lockTakeovers() - before.lockTakeovers(), 0);
            note(snapshot.takenMillis(), "reclaim", s.reclaimedBlocks() - before.reclaimedBlocks(), s.reclaimedBytes() - before.reclaimedBytes());
        }
        push(new Sample(snapshot.takenMillis(), true, s.usedBytes(), s.availableBytes(), s.largestFreeBlock(), allocationRate, freeRate));
        latest = snapshot;
    }

    /** Adds a sample of an interval in which the heap could not be read: a gap in the lines. */
    synchronized void addDown(long millis) {
        push(new Sample(millis, false, 0, 0, 0, -1, -1));
        latest = null; // rates start again from the next good sample: the file may be another heap
    }

    private void push(Sample sample) {
        samples.addLast(sample);
        while (samples.size() > capacity) {
            samples.removeFirst();
        }
    }

    private void note(long millis, String kind, long count, long bytes) {
        if (count > 0) {
            events.addLast(new Event(millis, kind, count, bytes));
            while (events.size() > EVENTS_KEPT) {
                events.removeFirst();
            }
        }
    }

    synchronized List<Sample> samples() {
        return new ArrayList<>(samples);
    }

    synchronized List<Event> events() {
        return new ArrayList<>(events);
    }

    /** The newest snapshot, or null when the heap was down at the last sample. */
    synchronized HeapSnapshot latest() {
        return latest;
    }

    /** The newest sample, or null before the first. */
    synchronized Sample lastSample() {
        return samples.peekLast();
    }

    static long allocations(HeapStats s) {
        return s.buddyAllocations() + s.sizeClasses().stream().mapToLong(SizeClassStats::allocations).sum();
    }

    static long frees(HeapStats s) {
        return s.buddyFrees() + s.sizeClasses().stream().mapToLong(SizeClassStats::frees).sum();
    }
}
