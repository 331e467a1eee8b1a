package dev.shmheap.internal.memory;

/**
 * Deterministic crash injection for the crash-point tests. Every store to the mapping goes
 * through {@link MappedMemory}, which calls {@link #beforeStore()} first; so "crash before the
 * N-th store of an operation" names every step of every critical section without a list to
 * keep in step with the code: a new store in a new critical section is a new crash point.
 *
 * <p>Off unless the JVM starts with {@code -Dshmheap.crashBeforeStore=N}: {@link #ENABLED} is a
 * static final, so the JIT removes the hook from the store paths when it is false.
 * When on, {@link #arm()} starts counting stores of the calling process; at store N the
 * process prints the store's call site on stderr and halts (no shutdown hooks, no finally
 * blocks, exactly like SIGKILL at that instruction).
 */
public final class CrashPoints {
    public static final String PROPERTY = "shmheap.crashBeforeStore";
    public static final int EXIT_CODE = 86;
    public static final boolean ENABLED = System.getProperty(PROPERTY) != null;
    private static final long TARGET = Long.getLong(PROPERTY, 0);
    private static long counted = -1;

    private CrashPoints() {
    }

    /** Starts counting stores; with a target of 0 the count only measures an operation. */
    public static void arm() {
        counted = 0;
    }

    /** Stops counting and returns the number of stores since {@link #arm()}. */
    public static long disarm() {
        long n = counted;
        counted = -1;
        return n;
    }

    static void beforeStore() {
        if (counted >= 0 && ++counted == TARGET) {
            StringBuilder site = new StringBuilder("crash point: before store ").append(TARGET).append(" at");
            StackWalker.getInstance().forEach(frame -> {
                if (frame.getClassName().startsWith("dev.shmheap.internal.") && !frame.getClassName().endsWith("MappedMemory")
                        && !frame.getClassName().endsWith("CrashPoints")) {
                    site.append(' ').append(frame.getClassName().substring(frame.getClassName().lastIndexOf('.') + 1))
                            .append('.').append(frame.getMethodName()).append(':').append(frame.getLineNumber());
                }
            });
            System.err.println(site);
            System.err.flush();
            Runtime.getRuntime().halt(EXIT_CODE);
        }
    }
}
