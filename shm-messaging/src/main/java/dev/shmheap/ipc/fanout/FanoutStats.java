package dev.shmheap.ipc.fanout;

/**
 * A fan-out channel's positions and counters, read without locks (each field is one volatile
 * read, so the whole is not one moment).
 *
 * @param capacity    slots: the most the publisher may run ahead of the slowest subscriber
 * @param tail        messages published so far
 * @param reclaimed   every message below this position has been freed
 * @param slowest     position of the slowest attached subscriber (tail if none)
 * @param subscribers attached subscriber entries (dead ones count until dropped)
 * @param dropped     subscribers dropped because their process died
 * @param freed       blocks freed by reclaims
 * @param closed      the publisher ended the stream
 */
public record FanoutStats(int capacity, long tail, long reclaimed, long slowest, int subscribers, long dropped, long freed,
                          boolean closed) {
}
