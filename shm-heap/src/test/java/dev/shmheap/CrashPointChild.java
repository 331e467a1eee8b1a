package dev.shmheap;

import dev.shmheap.internal.memory.CrashPoints;

import java.nio.file.Path;

/**
 * Child JVM of {@link CrashPointTest}: prepares a scenario on the heap, prints the expected
 * used bytes before and after the operation, arms the crash points and runs the operation.
 * With {@code -Dshmheap.crashBeforeStore=0} it completes and prints the number of stores.
 */
public final class CrashPointChild {
    private CrashPointChild() {
    }

    public static void main(String[] args) throws Exception {
        Path path = Path.of(args[0]);
        CrashScenario scenario = CrashScenario.valueOf(args[1]);
        try (ShmHeap heap = ShmHeap.open(path)) {
            CrashScenario.Prepared prepared = scenario.prepare(heap);
            System.out.println("usedBefore=" + heap.stats().usedBytes() + " delta=" + prepared.usedDelta());
            System.out.flush();
            CrashPoints.arm();
            prepared.operation().run();
            System.out.println("stores=" + CrashPoints.disarm());
        }
    }
}
