package dev.shmheap.internal.jfr;

import jdk.jfr.DataAmount;
import jdk.jfr.Label;

/** The request an allocation event is about: which heap, how many bytes, what alignment. */
abstract class AllocationRequestEvent extends jdk.jfr.Event {
    @Label("Heap")
    String heap;

    @Label("Size")
    @DataAmount
    long size;

    @Label("Alignment")
    long alignment;

    final void request(String heapFile, long requestedSize, long requestedAlignment) {
        this.heap = heapFile;
        this.size = requestedSize;
        this.alignment = requestedAlignment;
    }
}
