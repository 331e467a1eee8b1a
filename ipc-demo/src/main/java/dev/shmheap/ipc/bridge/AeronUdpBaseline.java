package dev.shmheap.ipc.bridge;

import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import org.HdrHistogram.Histogram;
import com.sun.jna.Pointer;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.PrintStream;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/**
 * The reference for the bridge's figures: plain Aeron UDP between two JVMs, with the same
 * embedded-driver setup as the bridge halves ({@link AeronEndpoint}) and the same per-message
 * work as the demo's producer and consumer (fill the payload, CRC32C, send-time stamp; check
 * order and checksum on receipt), but no heap on either side.
 * <pre>
 *  +---------------------------------------------------------------+
 *  |                 Sequence (64 bits)                            |  0
 *  +---------------------------------------------------------------+
 *  |                 Send time, System.nanoTime() (64 bits)        |  8
 *  +---------------------------------------------------------------+
 *  |                 CRC32C of the payload                         | 16
 *  +---------------------------------------------------------------+
 *  |                 Reserved                                      | 20
 *  +---------------------------------------------------------------+
 *  |                 Payload                                      ... 24
 *  +---------------------------------------------------------------+
 * </pre>
 */
final class AeronUdpBaseline {
    static final int SEQUENCE_OFFSET = 0;
    static final int SEND_NANOS_OFFSET = SEQUENCE_OFFSET + Long.BYTES;
    static final int CRC_OFFSET = SEND_NANOS_OFFSET + Long.BYTES;
    static final int HEADER_LENGTH = CRC_OFFSET + 2 * Integer.BYTES;
    private static final int SOURCE_LENGTH = 1 << 17;
    private static final int FRAGMENT_LIMIT = 16;

    private AeronUdpBaseline() {
    }

    /** Sends {@code count} messages of {@code size} bytes once a subscriber is connected; returns the elapsed nanoseconds. */
    static long send(ExclusivePublication publication, long count, int size, long connectTimeoutNanos, PrintStream log) {
        if (size < HEADER_LENGTH || size > publication.maxMessageLength() || size - HEADER_LENGTH > SOURCE_LENGTH / 2) {
            throw new IllegalArgumentException("size=" + size + " must be in [" + HEADER_LENGTH + ", "
                    + Math.min(publication.maxMessageLength(), SOURCE_LENGTH / 2 + HEADER_LENGTH) + "]");
        }
        long deadline = System.nanoTime() + connectTimeoutNanos;
        while (!publication.isConnected()) {
            if (System.nanoTime() - deadline >= 0) {
                throw new IllegalStateException("no subscriber connected to " + publication.channel() + " within "
                        + connectTimeoutNanos / 1_000_000_000 + " s");
            }
            Thread.onSpinWait();
        }
        byte[] source = new byte[SOURCE_LENGTH];
        new SplittableRandom(0x5eed).nextBytes(source);
        UnsafeBuffer buffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(size + 64, 64));
        CRC32C crc = new CRC32C();
        long backPressured = 0;
        long start = System.nanoTime();
        for (long sequence = 0; sequence < count; sequence++) {
            int payload = size - HEADER_LENGTH;
            int sourceIndex = (int) ((sequence * 7919) & (SOURCE_LENGTH / 2 - 1));
            crc.reset();
            crc.update(source, sourceIndex, payload);
            buffer.putBytes(HEADER_LENGTH, source, sourceIndex, payload);
            buffer.putLong(SEQUENCE_OFFSET, sequence);
            buffer.putInt(CRC_OFFSET, (int) crc.getValue());
            buffer.putLong(SEND_NANOS_OFFSET, System.nanoTime());
            long result;
            while ((result = publication.offer(buffer, 0, size)) < 0) {
                if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED) {
                    throw new IllegalStateException("Aeron offer failed: result=" + result);
                }
                if (result == Publication.NOT_CONNECTED) {
                    throw new IllegalStateException("the receiver went away after " + sequence + " messages");
                }
                backPressured++;
                Thread.onSpinWait();
            }
        }
        long nanos = System.nanoTime() - start;
        log.printf(Locale.ROOT, "udp-send: sent %d messages of %d B in %.2f s (back-pressured %d times)%n", count, size, nanos / 1e9,
                backPressured);
        return nanos;
    }

    /** Checksums {@code length} bytes of {@code buffer} where they lie (as the demo consumer does in the heap): no copy. */
    private static void update(CRC32C crc, DirectBuffer buffer, int index, int length) {
        byte[] array = buffer.byteArray();
        if (array != null) {
            crc.update(array, (int) (buffer.addressOffset() - BufferUtil.ARRAY_BASE_OFFSET) + index, length);
        } else {
            crc.update(new Pointer(buffer.addressOffset() + index).getByteBuffer(0, length));
        }
    }

    /** Receives {@code count} messages, checking order and checksum; returns 0 if all were intact. */
    static int receive(Subscription subscription, long count, long idleTimeoutNanos, PrintStream log) {
        Histogram latency = new Histogram(3);
        long[] state = new long[5]; // next sequence, errors, bytes, first send nanos, last receipt nanos
        CRC32C crc = new CRC32C();
        FragmentHandler handler = new FragmentAssembler((buffer, offset, length, header) -> {
            long now = System.nanoTime();
            long sequence = buffer.getLong(offset + SEQUENCE_OFFSET);
            crc.reset();
            update(crc, buffer, offset + HEADER_LENGTH, length - HEADER_LENGTH);
            long sent = buffer.getLong(offset + SEND_NANOS_OFFSET);
            if (sequence != state[0] || (int) crc.getValue() != buffer.getInt(offset + CRC_OFFSET)) {
                state[1]++;
            }
            if (state[0] == 0) {
                state[3] = sent;
            }
            state[0] = sequence + 1;
            state[2] += length;
            state[4] = now;
            latency.recordValue(Math.max(0, now - sent));
        });
        long idleDeadline = System.nanoTime() + idleTimeoutNanos;
        long received = 0;
        while (received < count) {
            int fragments = subscription.poll(handler, FRAGMENT_LIMIT);
            long before = received;
            received = state[0];
            if (received != before || fragments > 0) {
                idleDeadline = System.nanoTime() + idleTimeoutNanos;
            } else if (System.nanoTime() - idleDeadline >= 0) {
                log.println("udp-receive: no message for " + idleTimeoutNanos / 1_000_000_000 + " s after " + received);
                break;
            } else {
                Thread.onSpinWait();
            }
        }
        double seconds = Math.max(1, state[4] - state[3]) / 1e9;
        log.printf(Locale.ROOT, "udp-receive: received %d messages (%.1f MB) in %.2f s: %,.0f msg/s, %.1f MB/s; one-way latency"
                        + " p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us; errors %d%n", received, state[2] / 1e6, seconds,
                received / seconds, state[2] / seconds / 1e6, latency.getValueAtPercentile(50) / 1e3,
                latency.getValueAtPercentile(99) / 1e3, latency.getValueAtPercentile(99.9) / 1e3, latency.getMaxValue() / 1e3, state[1]);
        return received == count && state[1] == 0 ? 0 : 1;
    }
}
