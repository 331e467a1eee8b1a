package dev.shmheap.ipc.demo;

import com.sun.jna.Pointer;
import dev.shmheap.ShmHeap;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The demo's message format, written by producers into a heap block and checked by the
 * consumer in place. A message of {@code length} bytes is this header followed by
 * {@code length - HEADER_LENGTH} payload bytes.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                         Magic "MSG1"                          |  0
 *  +---------------------------------------------------------------+
 *  |                   Flags (1 = end of stream)                   |  4
 *  +---------------------------------------------------------------+
 *  |                          Producer id                          |  8
 *  +---------------------------------------------------------------+
 *  |      CRC32C of payload, producer id and sequence (big-endian) | 12
 *  +---------------------------------------------------------------+
 *  |                 Per-producer sequence (64 bits)               | 16
 *  +---------------------------------------------------------------+
 *  |           Send time, System.nanoTime() (64 bits)              | 24
 *  +---------------------------------------------------------------+
 *  |                         Payload                              ... 32
 *  +---------------------------------------------------------------+
 * </pre>
 * An end-of-stream message has no payload and carries the number of messages the producer
 * sent before it as its sequence.
 */
final class DemoMessage {
    static final int MAGIC = 0x3147_534D; // "MSG1" in little-endian byte order
    static final int FLAG_END = 1;

    static final int MAGIC_OFFSET = 0;
    static final int FLAGS_OFFSET = MAGIC_OFFSET + Integer.BYTES;
    static final int PRODUCER_OFFSET = FLAGS_OFFSET + Integer.BYTES;
    static final int CRC_OFFSET = PRODUCER_OFFSET + Integer.BYTES;
    static final int SEQUENCE_OFFSET = CRC_OFFSET + Integer.BYTES;
    static final int SEND_NANOS_OFFSET = SEQUENCE_OFFSET + Long.BYTES;
    static final int HEADER_LENGTH = SEND_NANOS_OFFSET + Long.BYTES;

    private DemoMessage() {
    }

    /**
     * Writes a data message into the block at {@code offset}: header (send time 0 for now) and
     * {@code length - HEADER_LENGTH} payload bytes taken from {@code source} at {@code sourceIndex}.
     */
    static void write(ShmHeap heap, long offset, int length, int producer, long sequence, byte[] source, int sourceIndex) {
        int payload = length - HEADER_LENGTH;
        CRC32C crc = new CRC32C();
        crc.update(source, sourceIndex, payload);
        crc.update(identity(producer, sequence));
        heap.putInt(offset + MAGIC_OFFSET, MAGIC);
        heap.putInt(offset + FLAGS_OFFSET, 0);
        heap.putInt(offset + PRODUCER_OFFSET, producer);
        heap.putInt(offset + CRC_OFFSET, (int) crc.getValue());
        heap.putLong(offset + SEQUENCE_OFFSET, sequence);
        heap.putLong(offset + SEND_NANOS_OFFSET, 0);
        heap.putBytes(offset + HEADER_LENGTH, source, sourceIndex, payload);
    }

    /** Writes an end-of-stream message (exactly {@link #HEADER_LENGTH} bytes). */
    static void writeEnd(ShmHeap heap, long offset, int producer, long sent) {
        CRC32C crc = new CRC32C();
        crc.update(identity(producer, sent));
        heap.putInt(offset + MAGIC_OFFSET, MAGIC);
        heap.putInt(offset + FLAGS_OFFSET, FLAG_END);
        heap.putInt(offset + PRODUCER_OFFSET, producer);
        heap.putInt(offset + CRC_OFFSET, (int) crc.getValue());
        heap.putLong(offset + SEQUENCE_OFFSET, sent);
        heap.putLong(offset + SEND_NANOS_OFFSET, 0);
    }

    static void stamp(ShmHeap heap, long offset) {
        heap.putLong(offset + SEND_NANOS_OFFSET, System.nanoTime());
    }

    /**
     * Recomputes the checksum of the message in place: the payload is read through a direct
     * buffer over the mapping (no copy). The caller has checked that {@code length} bytes at
     * {@code offset} lie inside a live block (the receiver does, against {@code usableSize}).
     */
    static boolean checksumOk(ShmHeap heap, long offset, long length) {
        int producer = heap.getInt(offset + PRODUCER_OFFSET);
        long sequence = heap.getLong(offset + SEQUENCE_OFFSET);
        CRC32C crc = new CRC32C();
        long payload = length - HEADER_LENGTH;
        if (payload > 0) {
            ByteBuffer view = new Pointer(heap.address(offset + HEADER_LENGTH)).getByteBuffer(0, payload);
            crc.update(view);
        }
        crc.update(identity(producer, sequence));
        return (int) crc.getValue() == heap.getInt(offset + CRC_OFFSET);
    }

    private static byte[] identity(int producer, long sequence) {
        return ByteBuffer.allocate(Integer.BYTES + Long.BYTES).putInt(producer).putLong(sequence).array();
    }
}
