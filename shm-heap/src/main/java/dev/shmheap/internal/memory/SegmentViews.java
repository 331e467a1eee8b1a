package dev.shmheap.internal.memory;

/**
 * {@code MemorySegment} views of a range of the mapping. This is the Java 17-21 version, which
 * has none: Java 17 has no {@code java.lang.foreign}, and Chronicle Core maps no segment. The
 * Java 22+ version (the jar's {@code META-INF/versions/22}) slices the mapping's segment.
 */
public final class SegmentViews {
    /** The name of the type a caller asks for (a class literal of it cannot appear in Java 17 code). */
    public static final String SEGMENT_TYPE = "java.lang.foreign.MemorySegment";

    private SegmentViews() {
    }

    /**
     * A {@code MemorySegment} of {@code [offset, offset + length)} of {@code memory}.
     *
     * @throws UnsupportedOperationException always here: naming the Java and the layer this JVM runs
     */
    public static Object slice(MappedMemory memory, long offset, long length) {
        throw new UnsupportedOperationException("a MemorySegment view of a block needs Java 22+ and the shm-heap jar's FFM layer"
                + " (META-INF/versions/22); this JVM runs Java " + Runtime.version().feature() + " with " + MappedMemory.implementation());
    }
}
