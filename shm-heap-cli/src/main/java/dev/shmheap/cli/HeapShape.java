package dev.shmheap.cli;

import dev.shmheap.HeapObserver;
import dev.shmheap.ShmHeap;

import java.nio.file.Path;

/**
 * Where a heap's data lies in its file, and whether it frees dead processes' blocks itself, for reports that describe a heap opened either way: to
 * look ({@link HeapObserver}) or to change it ({@link ShmHeap}, e.g. after {@code recover}).
 */
record HeapShape(Path path, long capacity, long dataOffset, long fileLength, boolean reclaimsDead) {
    static HeapShape of(HeapObserver heap) {
        return new HeapShape(heap.path(), heap.capacity(), heap.dataOffset(), heap.fileLength(), heap.reclaimsDead());
    }

    static HeapShape of(ShmHeap heap) {
        return new HeapShape(heap.path(), heap.capacity(), heap.dataOffset(), heap.fileLength(), heap.reclaimsDead());
    }
}
