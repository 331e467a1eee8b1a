package dev.shmheap.internal.layout;

/**
 * The slab size classes 64, 128, ..., 4096 bytes, derived from two shifts and checked when the
 * class loads. Class {@code c} has blocks of {@code 64 << c} bytes; its sets hold
 * {@link #SET_SIZE} blocks, {@code 4096 << c} bytes, which is exactly buddy order {@code c}.
 *
 * <p>Routing: the smallest class {@code C} with {@code size <= C && alignment <= C} serves a
 * request; anything larger in size or alignment goes to the buddy allocator.
 */
public final class SizeClasses {
    public static final int MIN_SHIFT = 6;
    public static final int MAX_SHIFT = 12;
    public static final int COUNT = MAX_SHIFT - MIN_SHIFT + 1;
    public static final int MIN_BLOCK = 1 << MIN_SHIFT;
    public static final int MAX_BLOCK = 1 << MAX_SHIFT;
    public static final int SET_SIZE = 64;
    public static final int PAGE_SHIFT = 12;
    public static final int PAGE_SIZE = 1 << PAGE_SHIFT;

    static {
        if (SET_SIZE != Long.SIZE) {
            throw new ExceptionInInitializerError("a set's occupancy must fit one 64-bit word, SET_SIZE=" + SET_SIZE);
        }
        if (((long) SET_SIZE << MIN_SHIFT) != PAGE_SIZE) {
            throw new ExceptionInInitializerError("the smallest set must be one page so that set order == class index");
        }
    }

    private SizeClasses() {
    }

    public static int blockSize(int sizeClass) {
        return MIN_BLOCK << sizeClass;
    }

    /** Buddy order of a set of this class: its set spans {@code 1 << order} pages. */
    public static int setOrder(int sizeClass) {
        return sizeClass;
    }

    public static long setBytes(int sizeClass) {
        return (long) SET_SIZE << (MIN_SHIFT + sizeClass);
    }

    /** The class serving {@code size} bytes at {@code alignment}, or -1 for the buddy. */
    public static int classFor(long size, long alignment) {
        long need = Math.max(size, alignment);
        if (need > MAX_BLOCK) {
            return -1;
        }
        if (need <= MIN_BLOCK) {
            return 0;
        }
        return (64 - Long.numberOfLeadingZeros(need - 1)) - MIN_SHIFT;
    }
}
