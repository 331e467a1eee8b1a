package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;

/**
 * Test messages: {@code [producer id 8][sequence 8][pattern...]}, of a length that varies with
 * the sequence (even sequences 16 to 215 B, which travel inline in default slots; odd ones 16 B
 * to about 6 KiB, so both slab classes and buddy blocks are used), every byte derived from
 * (id, sequence) so that the receiver can check all of it.
 */
public final class TestMessages {
    private TestMessages() {
    }

    public static int length(int id, long seq) {
        return seq % 2 == 0 ? 16 + (int) ((seq * 7 + id) % 200) : 16 + (int) ((seq * 131 + id * 17) % 6000);
    }

    public static byte pattern(int id, long seq, int i) {
        return (byte) (i * 31 + seq * 7 + id);
    }

    public static long allocate(ShmHeap heap, int id, long seq) {
        int length = length(id, seq);
        long block = heap.allocate(length);
        fill(heap, block, id, seq);
        return block;
    }

    /** Writes message (id, seq) at {@code at}: {@code length(id, seq)} bytes. */
    public static void fill(ShmHeap heap, long at, int id, long seq) {
        int length = length(id, seq);
        heap.putLong(at, id);
        heap.putLong(at + 8, seq);
        byte[] bytes = new byte[length - 16];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = pattern(id, seq, i);
        }
        heap.putBytes(at + 16, bytes, 0, bytes.length);
    }

    /** Checks a message read in place, inline or not; returns its (id, sequence) as {@code id << 40 | seq}. */
    public static long check(ShmHeap heap, long offset, long length) {
        return check(heap, new Message(offset, length));
    }

    /** Checks a received message; returns its (id, sequence) as {@code id << 40 | seq}. */
    public static long check(ShmHeap heap, Message message) {
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
