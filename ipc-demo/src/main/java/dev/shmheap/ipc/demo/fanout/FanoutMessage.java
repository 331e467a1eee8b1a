package dev.shmheap.ipc.demo.fanout;

import com.sun.jna.Pointer;
import dev.shmheap.ShmHeap;

import java.util.zip.CRC32C;

/**
 * The message the fan-out commands and tests send: a header and a payload derived from the
 * sequence, so that every subscriber can check each message in place without a copy.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Sequence (64 bits; = channel position)        |  0
 *  +---------------------------------------------------------------+
 *  |                 Send time, System.nanoTime() (64 bits)        |  8
 *  +---------------------------------------------------------------+
 *  |                 CRC32C of the payload                         | 16
 *  +---------------------------------------------------------------+
 *  |                 Length of the whole message                   | 20
 *  +---------------------------------------------------------------+
 *  |                 Payload: byte i = (sequence * 31 + i)        ... 24
 *  +---------------------------------------------------------------+
 * </pre>
 */
final class FanoutMessage {
    static final int SEQUENCE_OFFSET = 0;
    static final int SEND_NANOS_OFFSET = SEQUENCE_OFFSET + Long.BYTES;
    static final int CRC_OFFSET = SEND_NANOS_OFFSET + Long.BYTES;
    static final int LENGTH_OFFSET = CRC_OFFSET + Integer.BYTES;
    static final int HEADER_LENGTH = LENGTH_OFFSET + Integer.BYTES;

    private FanoutMessage() {
    }

    /** Allocates and fills a message of {@code length >= HEADER_LENGTH} bytes; returns its offset. */
    static long allocate(ShmHeap heap, long sequence, int length, byte[] scratch) {
        if (length < HEADER_LENGTH || length - HEADER_LENGTH > scratch.length) {
            throw new IllegalArgumentException("length=" + length + " must be in [" + HEADER_LENGTH + ", "
                    + (HEADER_LENGTH + scratch.length) + "]");
        }
        long offset = heap.allocate(length);
        int payload = length - HEADER_LENGTH;
        for (int i = 0; i < payload; i++) {
            scratch[i] = (byte) (sequence * 31 + i);
        }
        CRC32C crc = new CRC32C();
        crc.update(scratch, 0, payload);
        heap.putLong(offset + SEQUENCE_OFFSET, sequence);
        heap.putInt(offset + CRC_OFFSET, (int) crc.getValue());
        heap.putInt(offset + LENGTH_OFFSET, length);
        heap.putBytes(offset + HEADER_LENGTH, scratch, 0, payload);
        heap.putLong(offset + SEND_NANOS_OFFSET, System.nanoTime());
        return offset;
    }

    /** Null if the message at {@code offset} is intact and carries {@code expected}, else what is wrong. */
    static String check(ShmHeap heap, long offset, long length, long expected) {
        if (length < HEADER_LENGTH) {
            return "message at offset=" + offset + " has length=" + length + " < " + HEADER_LENGTH;
        }
        long sequence = heap.getLong(offset + SEQUENCE_OFFSET);
        if (sequence != expected) {
            return "sequence=" + sequence + " where " + expected + " was expected";
        }
        if (heap.getInt(offset + LENGTH_OFFSET) != length) {
            return "sequence " + sequence + ": length field " + heap.getInt(offset + LENGTH_OFFSET) + " != slot length " + length;
        }
        CRC32C crc = new CRC32C();
        long payload = length - HEADER_LENGTH;
        if (payload > 0) {
            crc.update(new Pointer(heap.address(offset + HEADER_LENGTH)).getByteBuffer(0, payload));
        }
        if ((int) crc.getValue() != heap.getInt(offset + CRC_OFFSET)) {
            return "sequence " + sequence + ": checksum mismatch at offset=" + offset;
        }
        return null;
    }
}
