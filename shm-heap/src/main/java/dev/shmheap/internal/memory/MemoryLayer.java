package dev.shmheap.internal.memory;

/**
 * Which memory layer this JVM runs: this class and {@link MappedMemory} have a second version in
 * the jar's {@code META-INF/versions/22}, which Java 22+ loads instead. Here, on Java 17-21 (or
 * from a jar built without a JDK 22+), it is Chronicle Core over {@code sun.misc.Unsafe}.
 */
public final class MemoryLayer {
    /** For messages and reports: what maps the heap and accesses it. */
    static final String NAME = "Chronicle Core (sun.misc.Unsafe)";

    private MemoryLayer() {
    }

    /** Whether the heap is mapped and accessed through the FFM API (no Unsafe, no --add-opens). */
    public static boolean foreign() {
        return false;
    }
}
