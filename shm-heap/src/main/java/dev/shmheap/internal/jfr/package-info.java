/**
 * JDK Flight Recorder events of the heap: {@code dev.shmheap.LockTakeover},
 * {@code dev.shmheap.DeadProcessReclaim}, {@code dev.shmheap.HeapFull} and
 * {@code dev.shmheap.SlowAllocation} (category "shm-heap"). Record them with
 * {@code -XX:StartFlightRecording} or {@code jcmd PID JFR.start}; print them with
 * {@code jfr print --events dev.shmheap.LockTakeover,dev.shmheap.DeadProcessReclaim rec.jfr}.
 *
 * <p>The library emits them through the one-line helpers here, called only off the fast path
 * (a takeover, a reclaim, a request that found no space, a request that missed the thread's
 * owned set), each creating its event only when JFR records it. The event names and fields are
 * the contract (docs/CLI.md lists them); the classes are internal.
 */
package dev.shmheap.internal.jfr;
