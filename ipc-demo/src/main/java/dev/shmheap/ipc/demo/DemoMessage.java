package dev.shmheap.ipc.demo;

import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.ShmClaim;
import dev.shmheap.ipc.ShmReceiver;

import java.nio.ByteOrder;
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
 * sent before it as its sequence. Fields are in native byte order.
 *
 * <p>On a shared-memory channel both sides use the channel's own accessors ({@link ShmClaim}'s
 * when writing, {@link ShmReceiver}'s inside {@code onMessage} when reading): they check an
 * index against the message's length only, where the heap's check the data region, its extents
 * and the mapping on every access. Those accessors move longs and bytes, so the header's int
 * pairs (magic and flags, producer and checksum) are written and read as one long each.
 *
 * <p>Nothing here allocates per message: each view and sink reuses its own {@link Checksum}
 * and payload chunk, so a producer or consumer that keeps its view or sink does not either.
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

    /** Decides which half of a header long ({@link #pair}) holds the int at the lower address. */
    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
    /** Payload bytes copied out per step while checksumming: small enough to stay in L1. */
    private static final int CHUNK = 4096;

    private DemoMessage() {
    }

    /**
     * The message checksum: a CRC32C over the payload, then over the producer id (4 bytes) and
     * the sequence (8 bytes), both big-endian. One instance per view or sink, reset for each
     * message: computing a checksum allocates nothing.
     */
    static final class Checksum {
        private final CRC32C crc = new CRC32C();
        private final byte[] identity = new byte[Integer.BYTES + Long.BYTES];

        /** Starts a message's checksum. */
        void start() {
            crc.reset();
        }

        /** Adds payload bytes. */
        void update(byte[] bytes, int from, int count) {
            crc.update(bytes, from, count);
        }

        /** Adds the message's identity and returns the checksum. */
        int finish(int producer, long sequence) {
            for (int i = 0; i < Integer.BYTES; i++) {
                identity[i] = (byte) (producer >>> (Byte.SIZE * (Integer.BYTES - 1 - i)));
            }
            for (int i = 0; i < Long.BYTES; i++) {
                identity[Integer.BYTES + i] = (byte) (sequence >>> (Byte.SIZE * (Long.BYTES - 1 - i)));
            }
            crc.update(identity, 0, identity.length);
            return (int) crc.getValue();
        }
    }

    /** Read access to one message, by index from its first byte. */
    abstract static class View {
        private final byte[] chunk = new byte[CHUNK];
        private final Checksum checksum = new Checksum();

        abstract long getLong(long index);

        abstract void getBytes(long index, byte[] dst, int dstIndex, int count);
    }

    /** A view through the heap's accessors, for messages the caller owns as heap blocks; {@link #at} moves it. */
    static final class HeapView extends View {
        private final ShmHeap heap;
        private long offset;

        HeapView(ShmHeap heap) {
            this.heap = heap;
        }

        HeapView at(long offset) {
            this.offset = offset;
            return this;
        }

        @Override
        long getLong(long index) {
            return heap.getLong(offset + index);
        }

        @Override
        void getBytes(long index, byte[] dst, int dstIndex, int count) {
            heap.getBytes(offset + index, dst, dstIndex, count);
        }
    }

    /** A view of the message a {@link ShmReceiver} is handing to its reader: valid only inside {@code onMessage}. */
    static final class ReceiverView extends View {
        private final ShmReceiver receiver;

        ReceiverView(ShmReceiver receiver) {
            this.receiver = receiver;
        }

        @Override
        long getLong(long index) {
            return receiver.getLong(index);
        }

        @Override
        void getBytes(long index, byte[] dst, int dstIndex, int count) {
            receiver.getBytes(index, dst, dstIndex, count);
        }
    }

    /** Write access to one message, by index from its first byte. */
    abstract static class Sink {
        private final Checksum checksum = new Checksum();

        abstract void putLong(long index, long value);

        abstract void putBytes(long index, byte[] src, int srcIndex, int count);
    }

    /** A sink through the heap's accessors, for messages written into heap blocks; {@link #at} moves it. */
    static final class HeapSink extends Sink {
        private final ShmHeap heap;
        private long offset;

        HeapSink(ShmHeap heap) {
            this.heap = heap;
        }

        HeapSink at(long offset) {
            this.offset = offset;
            return this;
        }

        @Override
        void putLong(long index, long value) {
            heap.putLong(offset + index, value);
        }

        @Override
        void putBytes(long index, byte[] src, int srcIndex, int count) {
            heap.putBytes(offset + index, src, srcIndex, count);
        }
    }

    /** A sink through a {@link ShmClaim}'s accessors: the region the claim holds, inline or a block. */
    static final class ClaimSink extends Sink {
        private final ShmClaim claim;

        ClaimSink(ShmClaim claim) {
            this.claim = claim;
        }

        @Override
        void putLong(long index, long value) {
            claim.putLong(index, value);
        }

        @Override
        void putBytes(long index, byte[] src, int srcIndex, int count) {
            claim.putBytes(index, src, srcIndex, count);
        }
    }

    /**
     * Writes a data message of {@code length} bytes: header (send time 0 until {@link #stamp})
     * and {@code length - HEADER_LENGTH} payload bytes taken from {@code source} at {@code sourceIndex}.
     */
    static void write(Sink message, int length, int producer, long sequence, byte[] source, int sourceIndex) {
        int payload = length - HEADER_LENGTH;
        message.putLong(MAGIC_OFFSET, pair(MAGIC, 0));
        message.putLong(PRODUCER_OFFSET, pair(producer, crc(message.checksum, source, sourceIndex, payload, producer, sequence)));
        message.putLong(SEQUENCE_OFFSET, sequence);
        message.putLong(SEND_NANOS_OFFSET, 0);
        message.putBytes(HEADER_LENGTH, source, sourceIndex, payload);
    }

    /** Writes an end-of-stream message (exactly {@link #HEADER_LENGTH} bytes), send time 0 until {@link #stamp}. */
    static void writeEnd(Sink message, int producer, long sent) {
        message.putLong(MAGIC_OFFSET, pair(MAGIC, FLAG_END));
        message.putLong(PRODUCER_OFFSET, pair(producer, crc(message.checksum, null, 0, 0, producer, sent)));
        message.putLong(SEQUENCE_OFFSET, sent);
        message.putLong(SEND_NANOS_OFFSET, 0);
    }

    /** Writes the send time, just before the message is offered or committed. */
    static void stamp(Sink message) {
        message.putLong(SEND_NANOS_OFFSET, System.nanoTime());
    }

    static int magic(View message) {
        return first(message.getLong(MAGIC_OFFSET));
    }

    static int flags(View message) {
        return second(message.getLong(MAGIC_OFFSET));
    }

    static int producer(View message) {
        return first(message.getLong(PRODUCER_OFFSET));
    }

    static long sequence(View message) {
        return message.getLong(SEQUENCE_OFFSET);
    }

    static long sendNanos(View message) {
        return message.getLong(SEND_NANOS_OFFSET);
    }

    /**
     * Recomputes the checksum of the message of {@code length} bytes in {@code message}; the
     * payload is copied out a chunk at a time. The caller has checked that {@code length} is at
     * least {@link #HEADER_LENGTH}.
     */
    static boolean checksumOk(View message, long length) {
        long word = message.getLong(PRODUCER_OFFSET);
        int producer = first(word);
        long sequence = message.getLong(SEQUENCE_OFFSET);
        Checksum crc = message.checksum;
        crc.start();
        for (long at = HEADER_LENGTH; at < length; ) {
            int n = (int) Math.min(CHUNK, length - at);
            message.getBytes(at, message.chunk, 0, n);
            crc.update(message.chunk, 0, n);
            at += n;
        }
        return crc.finish(producer, sequence) == second(word);
    }

    private static int crc(Checksum crc, byte[] source, int sourceIndex, int payload, int producer, long sequence) {
        crc.start();
        if (payload > 0) {
            crc.update(source, sourceIndex, payload);
        }
        return crc.finish(producer, sequence);
    }

    /** The long whose native-order bytes are {@code first}'s followed by {@code second}'s. */
    static long pair(int first, int second) {
        return LITTLE_ENDIAN ? (first & 0xFFFF_FFFFL) | (long) second << 32 : (long) first << 32 | (second & 0xFFFF_FFFFL);
    }

    /** The int in the first four bytes of {@code word} (native order). */
    static int first(long word) {
        return (int) (LITTLE_ENDIAN ? word : word >>> 32);
    }

    /** The int in the last four bytes of {@code word} (native order). */
    static int second(long word) {
        return (int) (LITTLE_ENDIAN ? word >>> 32 : word);
    }

}
