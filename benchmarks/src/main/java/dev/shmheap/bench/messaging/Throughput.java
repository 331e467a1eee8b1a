package dev.shmheap.bench.messaging;

/**
 * One-way throughput of one run, measured at the receiver from the first measured message to
 * the last.
 *
 * @param messages messages received in the measured interval, each checked
 * @param size     payload bytes per message
 * @param nanos    length of the measured interval
 */
record Throughput(long messages, int size, long nanos) {
    double messagesPerSecond() {
        return messages * 1e9 / nanos;
    }

    /** Payload megabytes (10^6 bytes) per second. */
    double megabytesPerSecond() {
        return messagesPerSecond() * size / 1e6;
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%,.0f msg/s, %,.1f MB/s (%,d messages of %d B in %.3f s)", messagesPerSecond(),
                megabytesPerSecond(), messages, size, nanos / 1e9);
    }
}
