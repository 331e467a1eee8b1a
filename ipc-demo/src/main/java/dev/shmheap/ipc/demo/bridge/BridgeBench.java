package dev.shmheap.ipc.demo.bridge;

import com.sun.jna.Pointer;
import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.MessageHandler;
import dev.shmheap.ipc.ShmReceiver;
import dev.shmheap.ipc.ShmSender;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import org.HdrHistogram.Histogram;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.PrintStream;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * The figures of {@code scripts/bridge-demo.sh compare}: the same messages, the same per-message
 * work (fill the payload, CRC32C, send-time stamp; on receipt check order and checksum where the
 * bytes lie, record the one-way latency) and the same pacing, sent either
 * <ul>
 *   <li>through the bridge: {@code shm-send} into heap A's channel, bridge out, UDP, bridge in,
 *       heap B's channel, {@code shm-receive}; or</li>
 *   <li>over plain Aeron UDP: {@code udp-send} to {@code udp-receive}, with the same embedded
 *       driver setup as the bridge halves ({@link AeronEndpoint}) and no heap.</li>
 * </ul>
 * Message layout:
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
 * Send time and receipt are {@code System.nanoTime()} in two processes of one machine
 * (CLOCK_MONOTONIC, one clock); between two hosts the latency would mean nothing.
 */
final class BridgeBench {
    static final int SEQUENCE_OFFSET = 0;
    static final int SEND_NANOS_OFFSET = SEQUENCE_OFFSET + Long.BYTES;
    static final int CRC_OFFSET = SEND_NANOS_OFFSET + Long.BYTES;
    static final int HEADER_LENGTH = CRC_OFFSET + 2 * Integer.BYTES;
    private static final int SOURCE_LENGTH = 1 << 17;
    private static final int FRAGMENT_LIMIT = 16;
    private static final int POLL_LIMIT = 16;

    private BridgeBench() {
    }

    /** Fills messages: a payload slice of a random source, its checksum, the sequence, then the send stamp. */
    static final class Writer {
        private final byte[] source = new byte[SOURCE_LENGTH];
        private final CRC32C crc = new CRC32C();
        private final int size;

        Writer(int size) {
            if (size < HEADER_LENGTH || size - HEADER_LENGTH > SOURCE_LENGTH / 2) {
                throw new IllegalArgumentException("size=" + size + " must be in [" + HEADER_LENGTH + ", " + (SOURCE_LENGTH / 2 + HEADER_LENGTH)
                        + "]");
            }
            this.size = size;
            new SplittableRandom(0x5eed).nextBytes(source);
        }

        void write(MutableDirectBuffer buffer, long sequence) {
            int payload = size - HEADER_LENGTH;
            int sourceIndex = (int) ((sequence * 7919) & (SOURCE_LENGTH / 2 - 1));
            crc.reset();
            crc.update(source, sourceIndex, payload);
            buffer.putBytes(HEADER_LENGTH, source, sourceIndex, payload);
            buffer.putLong(SEQUENCE_OFFSET, sequence);
            buffer.putInt(CRC_OFFSET, (int) crc.getValue());
            buffer.putLong(SEND_NANOS_OFFSET, System.nanoTime());
        }
    }

    /** Sends at {@code rate} messages per second (0 = as fast as possible): message i is due at start + i / rate. */
    static final class Pacer {
        private final long intervalNanos;
        private long start;

        Pacer(long rate) {
            if (rate < 0) {
                throw new IllegalArgumentException("rate=" + rate + " must not be negative (0 = unpaced)");
            }
            this.intervalNanos = rate == 0 ? 0 : 1_000_000_000L / rate;
        }

        void await(long sequence) {
            if (intervalNanos == 0) {
                return;
            }
            if (sequence == 0) {
                start = System.nanoTime();
            }
            long due = start + sequence * intervalNanos;
            while (System.nanoTime() - due < 0) {
                Thread.onSpinWait();
            }
        }
    }

    /** Checks messages in order where they lie and records the one-way latency. */
    static final class Checker {
        final Histogram latency = new Histogram(3);
        private final CRC32C crc = new CRC32C();
        long next;
        long errors;
        long bytes;
        long firstSent;
        long lastReceived;

        void check(DirectBuffer buffer, int offset, int length) {
            long now = System.nanoTime();
            long sequence = buffer.getLong(offset + SEQUENCE_OFFSET);
            crc.reset();
            byte[] array = buffer.byteArray();
            if (array != null) {
                crc.update(array, (int) (buffer.addressOffset() - BufferUtil.ARRAY_BASE_OFFSET) + offset + HEADER_LENGTH, length - HEADER_LENGTH);
            } else {
                crc.update(new Pointer(buffer.addressOffset() + offset + HEADER_LENGTH).getByteBuffer(0, length - HEADER_LENGTH));
            }
            long sent = buffer.getLong(offset + SEND_NANOS_OFFSET);
            if (length < HEADER_LENGTH || sequence != next || (int) crc.getValue() != buffer.getInt(offset + CRC_OFFSET)) {
                errors++;
            }
            if (next == 0) {
                firstSent = sent;
            }
            next = sequence + 1;
            bytes += length;
            lastReceived = now;
            latency.recordValue(Math.max(0, now - sent));
        }

        int report(String label, long count, PrintStream log) {
            double seconds = Math.max(1, lastReceived - firstSent) / 1e9;
            log.printf(Locale.ROOT, "%s: received %d of %d messages (%.1f MB) in %.2f s: %,.0f msg/s, %.1f MB/s; one-way latency"
                            + " p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us; errors %d%n", label, next, count, bytes / 1e6, seconds,
                    next / seconds, bytes / seconds / 1e6, latency.getValueAtPercentile(50) / 1e3, latency.getValueAtPercentile(99) / 1e3,
                    latency.getValueAtPercentile(99.9) / 1e3, latency.getMaxValue() / 1e3, errors);
            return next == count && errors == 0 ? 0 : 1;
        }
    }

    static void udpSend(ExclusivePublication publication, long count, int size, long rate, PrintStream log) {
        if (size > publication.maxMessageLength()) {
            throw new IllegalArgumentException("size=" + size + " exceeds the publication's maxMessageLength " + publication.maxMessageLength());
        }
        Writer writer = new Writer(size);
        Pacer pacer = new Pacer(rate);
        awaitConnected(publication);
        UnsafeBuffer buffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(size + 64, 64));
        long backPressured = 0;
        for (long sequence = 0; sequence < count; sequence++) {
            pacer.await(sequence);
            writer.write(buffer, sequence);
            long result;
            while ((result = publication.offer(buffer, 0, size)) < 0) {
                if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED || result == Publication.NOT_CONNECTED) {
                    throw new IllegalStateException("Aeron offer failed after " + sequence + " messages: result=" + result);
                }
                backPressured++;
                Thread.yield(); // as BridgeOut does: on two cores the driver thread needs the CPU
            }
        }
        log.println("udp-send: sent " + count + " messages of " + size + " B; back-pressured " + backPressured + " times");
    }

    private static void awaitConnected(ExclusivePublication publication) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!publication.isConnected()) {
            if (System.nanoTime() - deadline >= 0) {
                throw new IllegalStateException("no subscriber connected to " + publication.channel() + " within 60 s");
            }
            Thread.yield();
        }
    }

    static int udpReceive(Subscription subscription, long count, long idleTimeoutNanos, PrintStream log) {
        Checker checker = new Checker();
        FragmentHandler handler = new FragmentAssembler((buffer, offset, length, header) -> checker.check(buffer, offset, length));
        // The same idle pattern as the bridge's receiving side: spin, yield, then park up to 1 ms.
        BackoffIdleStrategy idle = new BackoffIdleStrategy(100, 50, 1_000, 1_000_000);
        long idleDeadline = System.nanoTime() + idleTimeoutNanos;
        while (checker.next < count) {
            if (subscription.poll(handler, FRAGMENT_LIMIT) > 0) {
                idleDeadline = System.nanoTime() + idleTimeoutNanos;
                idle.reset();
            } else if (System.nanoTime() - idleDeadline >= 0) {
                log.println("udp-receive: no message for " + idleTimeoutNanos / 1_000_000_000 + " s after " + checker.next);
                break;
            } else {
                idle.idle();
            }
        }
        return checker.report("udp-receive", count, log);
    }

    static void shmSend(ShmHeap heap, ShmSender sender, long count, int size, long rate, PrintStream log) throws InterruptedException {
        Writer writer = new Writer(size);
        Pacer pacer = new Pacer(rate);
        UnsafeBuffer view = new UnsafeBuffer(0, 0);
        long full = 0;
        for (long sequence = 0; sequence < count; sequence++) {
            pacer.await(sequence);
            long block = heap.allocate(size);
            view.wrap(heap.address(block), size);
            writer.write(view, sequence);
            if (!sender.offerTrusted(block, size)) {
                full++;
                if (!sender.offer(block, size, 60, TimeUnit.SECONDS)) {
                    heap.free(block);
                    throw new IllegalStateException("heap A's channel stayed full for 60 s at message " + sequence + ": is bridge out running?");
                }
            }
        }
        log.println("shm-send: sent " + count + " messages of " + size + " B; channel full " + full + " times");
    }

    static int shmReceive(ShmHeap heap, ShmReceiver receiver, long count, long idleTimeoutNanos, PrintStream log) throws InterruptedException {
        Checker checker = new Checker();
        UnsafeBuffer view = new UnsafeBuffer(0, 0);
        MessageHandler handler = (offset, length) -> {
            view.wrap(heap.address(offset), (int) length);
            checker.check(view, 0, (int) length);
            heap.free(offset);
        };
        long idleDeadline = System.nanoTime() + idleTimeoutNanos;
        while (checker.next < count) {
            if (receiver.poll(handler, POLL_LIMIT) > 0) {
                idleDeadline = System.nanoTime() + idleTimeoutNanos;
                continue;
            }
            if (System.nanoTime() - idleDeadline >= 0) {
                log.println("shm-receive: no message for " + idleTimeoutNanos / 1_000_000_000 + " s after " + checker.next);
                break;
            }
            // Sleep in the channel's futex wait (as the demo consumer does) until a message comes.
            receiver.poll(100, TimeUnit.MILLISECONDS).ifPresent(m -> handler.onMessage(m.offset(), m.length()));
        }
        return checker.report("shm-receive", count, log);
    }
}
