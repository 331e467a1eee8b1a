package dev.shmheap.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/**
 * A request the allocator could not meet after its own fallbacks (empty sets released, a small
 * block served from a page). A heap created with RECLAIM_DEAD then reclaims the dead's blocks
 * and tries once more (a {@code dev.shmheap.DeadProcessReclaim} event follows if that freed any);
 * otherwise the caller gets {@code HeapFullException} or {@code NO_SPACE}. The stack trace names
 * the caller.
 */
@Name("dev.shmheap.HeapFull")
@Label("Heap Full")
@Category("shm-heap")
@Description("An allocation request that found no space in a shared heap")
public final class HeapFullEvent extends AllocationRequestEvent {
    @Label("Free Buddy Bytes")
    @Description("Bytes in free buddy blocks at the moment: free space exists but not in one piece large enough when this is above the size")
    @DataAmount
    long buddyFreeBytes;
}
