package dev.shmheap.ipc.demo;

/**
 * The next sequence the consumer expects from each producer id: an int-to-long table with open
 * addressing, so that looking one up and moving it on allocates nothing (a {@code Map<Integer,
 * Long>} boxes a new {@code Long} for every message). Grows only when a new producer appears.
 */
final class NextSequences {
    private static final int INITIAL_CAPACITY = 16;
    private static final int GOLDEN_RATIO_32 = 0x9E37_79B9;

    private int[] ids = new int[INITIAL_CAPACITY];
    private long[] next = new long[INITIAL_CAPACITY];
    private boolean[] used = new boolean[INITIAL_CAPACITY];
    private int size;

    /** The next sequence expected from {@code producer}: 0 for a producer not seen yet. */
    long get(int producer) {
        int slot = find(producer);
        return used[slot] ? next[slot] : 0;
    }

    void put(int producer, long sequence) {
        int slot = find(producer);
        if (!used[slot]) {
            if (2 * (size + 1) > ids.length) {
                grow();
                slot = find(producer);
            }
            used[slot] = true;
            ids[slot] = producer;
            size++;
        }
        next[slot] = sequence;
    }

    /** The slot holding {@code producer}, or the free slot where it would go. */
    private int find(int producer) {
        int mask = ids.length - 1;
        // Fibonacci hashing: the top log2(length) bits of producer * 2^32 / golden ratio
        int slot = (producer * GOLDEN_RATIO_32) >>> (Integer.SIZE - Integer.numberOfTrailingZeros(ids.length));
        while (used[slot] && ids[slot] != producer) {
            slot = (slot + 1) & mask;
        }
        return slot;
    }

    private void grow() {
        int[] oldIds = ids;
        long[] oldNext = next;
        boolean[] oldUsed = used;
        ids = new int[oldIds.length * 2];
        next = new long[oldIds.length * 2];
        used = new boolean[oldIds.length * 2];
        for (int i = 0; i < oldIds.length; i++) {
            if (oldUsed[i]) {
                int slot = find(oldIds[i]);
                used[slot] = true;
                ids[slot] = oldIds[i];
                next[slot] = oldNext[i];
            }
        }
    }
}
