package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;

/**
 * Test messages: {@code [producer id 8][sequence 8][pattern...]}, of a length that varies with
 * the sequence (16 B to about 6 KiB, so both slab classes and buddy blocks are used), every
 * byte derived from (id, sequence) so that the receiver can check all of it.
 */
final class TestMessages {
    private TestMessages() {
    }

    static int length(int id, long seq) {
        return 16 + (int) ((seq * 131 + id * 17) % 6000);
    }

    static byte pattern(int id, long seq, int i) {
        return (byte) (i * 31 + seq * 7 + id);
    }

    static long allocate(ShmHeap heap, int id, long seq) {
        int length = length(id, seq);
        long block = heap.allocate(length);
        heap.putLong(block, id);
        heap.putLong(block + 8, seq);
        byte[] bytes = new byte[length - 16];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = pattern(id, seq, i);
        }
        heap.putBytes(block + 16, bytes, 0, bytes.length);
        return block;
    }

    /** Checks a received message; returns its (id, sequence) as {@code id << 40 | seq}. */
    static long check(ShmHeap heap, Message message) {
        long id = heap.getLong(message.offset());
        long seq = heap.getLong(message.offset() + 8);
        if (id < 0 || id > 1000 || seq < 0) {
            throw new AssertionError("message at offset " + message.offset() + " has id=" + id + " seq=" + seq);
        }
        if (message.length() != length((int) id, seq)) {
            throw new AssertionError("producer " + id + " message " + seq + " has length " + message.length() + ", expected "
                    + length((int) id, seq));
        }
        byte[] bytes = new byte[(int) message.length() - 16];
        heap.getBytes(message.offset() + 16, bytes, 0, bytes.length);
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] != pattern((int) id, seq, i)) {
                throw new AssertionError("producer " + id + " message " + seq + " at offset " + message.offset() + ": byte " + i
                        + " is " + bytes[i] + ", expected " + pattern((int) id, seq, i));
            }
        }
        return id << 40 | seq;
    }
}
