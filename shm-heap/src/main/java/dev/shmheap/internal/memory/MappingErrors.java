package dev.shmheap.internal.memory;

/** The errors of both {@link MappedMemory} versions (Java 17-21 and the FFM one of Java 22+), worded once. */
final class MappingErrors {
    private MappingErrors() {
    }

    static IndexOutOfBoundsException outside(long offset, long size, long length) {
        return new IndexOutOfBoundsException("access of " + size + " bytes at offset " + offset + " is outside the mapping of " + length + " bytes");
    }

    static IllegalArgumentException misaligned(long offset, long size) {
        return new IllegalArgumentException("offset " + offset + " is not aligned to " + size + " bytes");
    }
}
