package dev.shmheap.internal.buddy;

import java.util.Arrays;

/** The free blocks {@link BuddyAllocator#rebuild()} has kept so far, in address order: pages and orders, a growable stack. */
final class FreeBlockStack {
    long[] pages = new long[64];
    int[] orders = new int[64];
    int size;

    boolean topIs(long page, int order) {
        return size > 0 && pages[size - 1] == page && orders[size - 1] == order;
    }

    long pop() {
        return pages[--size];
    }

    void push(long page, int order) {
        if (size == pages.length) {
            pages = Arrays.copyOf(pages, size * 2);
            orders = Arrays.copyOf(orders, size * 2);
        }
        pages[size] = page;
        orders[size++] = order;
    }
}
