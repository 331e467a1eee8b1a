package dev.shmheap.internal.memory;

import java.lang.foreign.MemorySegment;

/**
 * {@code MemorySegment} views of a range of the mapping: the Java 22+ version (the jar's
 * {@code META-INF/versions/22}). A view is a slice of the mapping's segment, so it is bounded to
 * the range and belongs to the mapping's shared arena: once the heap is closed every access
 * through it throws {@link IllegalStateException}. A read-only mapping (a HeapObserver's) gives read-only views.
 */
public final class SegmentViews {
    /** The name of the type a caller asks for (a class literal of it cannot appear in Java 17 code). */
    public static final String SEGMENT_TYPE = "java.lang.foreign.MemorySegment";

    private SegmentViews() {
    }

    /** A {@link MemorySegment} of {@code [offset, offset + length)} of {@code memory}. */
    public static Object slice(MappedMemory memory, long offset, long length) {
        MemorySegment whole = memory.segment();
        return whole.asSlice(memory.check(offset, length), length);
    }
}
