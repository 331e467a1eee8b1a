package dev.shmheap.internal.memory;

/**
 * Which memory layer this JVM runs: the Java 22+ version (in {@code META-INF/versions/22}), where
 * {@link MappedMemory} maps with {@code FileChannel.map(mode, offset, size, arena)} and accesses
 * the heap through a {@code MemorySegment}: no {@code sun.misc.Unsafe}, no {@code --add-opens}.
 */
public final class MemoryLayer {
    /** For messages and reports: what maps the heap and accesses it. */
    static final String NAME = "FFM (MemorySegment)";

    private MemoryLayer() {
    }

    /** Whether the heap is mapped and accessed through the FFM API (no Unsafe, no --add-opens). */
    public static boolean foreign() {
        return true;
    }
}
