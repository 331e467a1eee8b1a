package dev.shmheap.internal.views;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.AtomicBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Agrona buffer views of a block. Agrona is an optional dependency of shm-heap: only this class
 * names its types, and it is loaded only when a caller asks for one of them, so applications
 * without Agrona never need it.
 *
 * <p>The view is an {@link UnsafeBuffer} over the block's address. Agrona 2 reads and writes
 * through {@code jdk.internal.misc.Unsafe}: the JVM needs
 * {@code --add-exports java.base/jdk.internal.misc=ALL-UNNAMED} ({@code JvmFlags.forAgrona()})
 * on every Java, and {@code --sun-misc-unsafe-memory-access} does not concern it.
 */
public final class AgronaViews {
    private AgronaViews() {
    }

    /** Whether {@code type} is one of the Agrona buffer types a block can be seen as. */
    public static boolean isAgronaBuffer(Class<?> type) {
        return type.getName().startsWith("org.agrona.") && isBufferType(type);
    }

    private static boolean isBufferType(Class<?> type) {
        return type == DirectBuffer.class || type == MutableDirectBuffer.class || type == AtomicBuffer.class || type == UnsafeBuffer.class;
    }

    /** Whether a view of {@code type} could write: all but the read-only {@link DirectBuffer}. */
    public static boolean writes(Class<?> type) {
        return type != DirectBuffer.class;
    }

    /** An {@link UnsafeBuffer} of {@code length} bytes at the process-local {@code address}. */
    public static UnsafeBuffer wrap(long address, int length) {
        return new UnsafeBuffer(address, length);
    }
}
