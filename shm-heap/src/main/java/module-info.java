/**
 * shm-heap: a heap that several JVMs on one host share through one memory-mapped file.
 *
 * <p>Only {@code dev.shmheap} is API; {@code dev.shmheap.internal.*} is the implementation and
 * may change in any release. On the class path (how most applications run) the module
 * declaration is ignored but the boundary is the same by convention; on the module path it is
 * enforced. Chronicle Core is then the automatic module {@code chronicle.core}, so the JVM flags
 * of {@link dev.shmheap.JvmFlags} must name it instead of {@code ALL-UNNAMED}
 * ({@code --add-opens java.base/sun.nio.ch=chronicle.core}, and so on).
 */
module dev.shmheap {
    requires chronicle.core;
    requires com.sun.jna;
    requires jdk.jfr; // the heap's Flight Recorder events (dev.shmheap.internal.jfr)

    exports dev.shmheap;

    // JNA binds NativeIo's native methods to libc by reflection (Native.register)
    opens dev.shmheap.internal.memory to com.sun.jna;
}
