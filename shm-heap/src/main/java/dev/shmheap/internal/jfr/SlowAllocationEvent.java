package dev.shmheap.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Threshold;

/**
 * An allocation that missed the thread's owned set (a new set taken under a stripe lock, a
 * buddy block under the buddy lock, the fallbacks of a full heap) and took longer than the
 * threshold: lock waits, takeovers and repairs, a growing class. The fast path, a block of the
 * thread's current set, never records it. Set the threshold per recording
 * ({@code dev.shmheap.SlowAllocation#threshold=100 us}).
 */
@Name("dev.shmheap.SlowAllocation")
@Label("Slow Allocation")
@Category("shm-heap")
@Description("An allocation off the fast path that took longer than the threshold")
@Threshold("1 ms")
public final class SlowAllocationEvent extends AllocationRequestEvent {
    @Label("Offset")
    @Description("The block's offset, or -1 when the heap had no space")
    long offset;
}
