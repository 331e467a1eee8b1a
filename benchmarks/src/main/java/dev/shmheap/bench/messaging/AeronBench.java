package dev.shmheap.bench.messaging;

import io.aeron.Aeron;
import io.aeron.CommonContext;
import io.aeron.ExclusivePublication;
import io.aeron.Image;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.logbuffer.FrameDescriptor;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.SleepingMillisIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The reference: Aeron IPC ({@code aeron:ipc}) 1.49.0 between two JVMs, with an embedded media
 * driver in this JVM.
 *
 * <p>Driver: {@link ThreadingMode#SHARED} (one agent thread for conductor, sender and receiver)
 * idling with {@code SleepingMillisIdleStrategy(1)}, so that on a 2-core machine the driver
 * sleeps instead of spinning on a core the two measured processes need. Over IPC the driver is
 * not on the data path: a publisher appends to the shared log buffer and a subscriber reads it
 * directly; the driver sets the channel up and moves the publisher's flow-control limit, which
 * trails by at most the term window (half the 64 MiB default IPC term, i.e. 32 MiB), so a 1 ms
 * sleep does not throttle. The rest are Aeron defaults (IPC term 64 MiB, IPC MTU 1408 B, so
 * messages above 1376 B travel as several fragments) plus what Aeron's sample scripts set:
 * non-sparse term files, pre-touched mappings. Publications are exclusive (one sender each), as
 * in Aeron's own IPC throughput and ping-pong samples; both sides busy-spin
 * ({@link Thread#onSpinWait()}, like {@code BusySpinIdleStrategy}).
 */
final class AeronBench {
    static final String CHANNEL = CommonContext.IPC_CHANNEL;
    static final int PING_STREAM = 1001;
    static final int PONG_STREAM = 1002;
    static final int DATA_STREAM = 1003;
    static final int FRAGMENT_LIMIT = 16;
    private static final long PEER_WAIT_NANOS = 60_000_000_000L;
    private static final long IDLE_NANOS = 30_000_000_000L;

    private AeronBench() {
    }

    static Path newAeronDir(Path directory, String label) {
        return directory.resolve("msgbench-aeron-" + label + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }

    /** IPC MTU for the driver; 0 keeps Aeron's default (1408 B). Set by MessagingBench's --aeron-mtu. */
    static int ipcMtu;

    static MediaDriver launchDriver(Path aeronDir) {
        MediaDriver.Context context = new MediaDriver.Context()
                .aeronDirectoryName(aeronDir.toString())
                .dirDeleteOnStart(true)
                .dirDeleteOnShutdown(true)
                .threadingMode(ThreadingMode.SHARED)
                .sharedIdleStrategy(new SleepingMillisIdleStrategy(1))
                .termBufferSparseFile(false);
        if (ipcMtu > 0) {
            context.ipcMtuLength(ipcMtu);
        }
        return MediaDriver.launch(context);
    }

    static Aeron connect(String aeronDir) {
        return Aeron.connect(new Aeron.Context().aeronDirectoryName(aeronDir).preTouchMappedMemory(true));
    }

    static UnsafeBuffer sendBuffer(int size) {
        return new UnsafeBuffer(BufferUtil.allocateDirectAligned(BitUtil.align(size, 64), 64));
    }

    /** Writes the whole payload of message {@code seq} into the publisher's source buffer. */
    static void write(UnsafeBuffer buffer, int size, long seq) {
        buffer.putLong(0, seq);
        buffer.putBytes(Long.BYTES, Payload.TEMPLATE, Long.BYTES, Payload.body(size));
        buffer.putLong(Payload.trailer(size), seq);
    }

    /** Offers until accepted; fails on a closed publication or an exhausted stream. */
    static void offer(Publication publication, DirectBuffer buffer, int offset, int length, Spin spin) {
        for (;;) {
            long result = publication.offer(buffer, offset, length);
            if (result > 0) {
                return;
            }
            if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED) {
                throw new IllegalStateException("Aeron offer failed: " + result);
            }
            spin.spin();
        }
    }

    static void awaitConnected(Spin spin, Subscription subscription, Publication publication) {
        while ((subscription != null && !subscription.isConnected()) || (publication != null && !publication.isConnected())) {
            spin.spin();
        }
    }

    /**
     * Round trips: fill the source buffer, offer it on the ping stream (a copy into the log),
     * the peer offers what it received back on the pong stream (a copy), poll it here and check
     * it. The clock runs from before the fill to after the check.
     */
    static RoundTrip roundTrip(Path directory, int size, long warmup, long count) throws IOException, InterruptedException {
        Payload.checkSize(size);
        Path dir = newAeronDir(directory, "rtt");
        try (MediaDriver driver = launchDriver(dir);
             Aeron aeron = connect(dir.toString());
             Subscription pongs = aeron.addSubscription(CHANNEL, PONG_STREAM);
             ExclusivePublication pings = aeron.addExclusivePublication(CHANNEL, PING_STREAM);
             PeerJvm peer = PeerJvm.start(Peer.AERON_PONG, dir.toString())) {
            awaitConnected(new Spin(PEER_WAIT_NANOS, "waiting for the Aeron pong JVM to connect", peer), pongs, pings);
            Image image = pongs.imageAtIndex(0);
            UnsafeBuffer buffer = sendBuffer(size);
            Reply reply = new Reply(size);
            Histogram histogram = RoundTrip.newHistogram();
            Spin spin = new Spin(IDLE_NANOS, "waiting for an Aeron pong", peer);
            for (long i = 0; i < warmup + count; i++) {
                long start = System.nanoTime();
                write(buffer, size, i);
                offer(pings, buffer, 0, size, spin);
                reply.expected = i;
                reply.received = false;
                while (!reply.received) {
                    if (image.poll(reply, 1) == 0) {
                        spin.spin();
                    }
                }
                long elapsed = System.nanoTime() - start;
                spin.reset();
                if (i >= warmup) {
                    histogram.recordValue(elapsed);
                }
            }
            buffer.putLong(0, Payload.STOP);
            offer(pings, buffer, 0, size, spin);
            peer.finish();
            return RoundTrip.of(histogram);
        } finally {
            deleteRecursively(dir);
        }
    }

    /** Checks a pong: the whole message, both sequence words. */
    private static final class Reply implements FragmentHandler {
        private final int size;
        long expected;
        boolean received;

        Reply(int size) {
            this.size = size;
        }

        @Override
        public void onFragment(DirectBuffer buffer, int offset, int length, Header header) {
            long front = buffer.getLong(offset);
            long back = buffer.getLong(offset + length - Long.BYTES);
            if (length != size || front != expected || back != expected) {
                throw Payload.mismatch("Aeron round trip (length " + length + ")", expected, front, back);
            }
            received = true;
        }
    }

    /** The peer of {@link #roundTrip}: offers every ping straight back on the pong stream. */
    static void pong(String aeronDir) {
        try (Aeron aeron = connect(aeronDir);
             Subscription pings = aeron.addSubscription(CHANNEL, PING_STREAM);
             ExclusivePublication pongs = aeron.addExclusivePublication(CHANNEL, PONG_STREAM)) {
            Spin spin = new Spin(IDLE_NANOS, "waiting for an Aeron ping");
            awaitConnected(new Spin(PEER_WAIT_NANOS, "waiting for the Aeron ping side to connect"), pings, pongs);
            boolean[] stop = {false};
            FragmentHandler echo = (buffer, offset, length, header) -> {
                if (buffer.getLong(offset) == Payload.STOP) {
                    stop[0] = true;
                } else {
                    offer(pongs, buffer, offset, length, spin);
                }
            };
            Image image = pings.imageAtIndex(0);
            while (!stop[0]) {
                if (image.poll(echo, 1) == 0) {
                    spin.spin();
                } else {
                    spin.reset();
                }
            }
        }
    }

    /**
     * One-way throughput: a peer JVM offers {@code warmup + count} messages; this JVM polls
     * them and checks each without reassembling: the leading sequence word in a message's first
     * fragment, the trailing one in its last, and the fragments' lengths adding up to the size
     * (no copy on the receiving side, Aeron's cheapest way to consume fragmented messages).
     */
    static Throughput throughput(Path directory, int size, long warmup, long count) throws IOException, InterruptedException {
        Payload.checkSize(size);
        if (warmup < 1 || count < 1) {
            throw new IllegalArgumentException("warmup and count must be at least 1");
        }
        Path dir = newAeronDir(directory, "tput");
        long total = warmup + count;
        try (MediaDriver driver = launchDriver(dir);
             Aeron aeron = connect(dir.toString());
             Subscription data = aeron.addSubscription(CHANNEL, DATA_STREAM);
             PeerJvm peer = PeerJvm.start(Peer.AERON_SEND, dir.toString(), Integer.toString(size), Long.toString(total))) {
            awaitConnected(new Spin(PEER_WAIT_NANOS, "waiting for the Aeron sender JVM to connect", peer), data, null);
            Image image = data.imageAtIndex(0);
            Checker checker = new Checker(size, warmup);
            Spin first = new Spin(PEER_WAIT_NANOS, "waiting for the first Aeron message", peer);
            Spin spin = new Spin(IDLE_NANOS, "waiting for an Aeron message", peer);
            while (checker.expected < total) {
                if (image.poll(checker, FRAGMENT_LIMIT) == 0) {
                    (checker.expected == 0 ? first : spin).spin();
                } else {
                    spin.reset();
                }
            }
            long end = System.nanoTime();
            peer.finish();
            return new Throughput(count, size, end - checker.start);
        } finally {
            deleteRecursively(dir);
        }
    }

    static final class Checker implements FragmentHandler {
        private final int size;
        private final long warmup;
        long expected;
        long start;
        private int bytes;

        Checker(int size, long warmup) {
            this.size = size;
            this.warmup = warmup;
        }

        @Override
        public void onFragment(DirectBuffer buffer, int offset, int length, Header header) {
            byte flags = header.flags();
            if ((flags & FrameDescriptor.BEGIN_FRAG_FLAG) != 0) {
                long front = buffer.getLong(offset);
                if (front != expected || bytes != 0) {
                    throw Payload.mismatch("Aeron throughput (first fragment of " + length + " B)", expected, front, -1);
                }
            }
            bytes += length;
            if ((flags & FrameDescriptor.END_FRAG_FLAG) != 0) {
                long back = length >= Long.BYTES ? buffer.getLong(offset + length - Long.BYTES) : -1;
                if (back != expected || bytes != size) {
                    throw Payload.mismatch("Aeron throughput (" + bytes + " B in all fragments)", expected, expected, back);
                }
                bytes = 0;
                if (++expected == warmup) {
                    start = System.nanoTime();
                }
            }
        }
    }

    /** The peer of {@link #throughput}: fills and offers {@code total} messages. */
    static void send(String aeronDir, int size, long total) throws IOException {
        try (Aeron aeron = connect(aeronDir);
             ExclusivePublication data = aeron.addExclusivePublication(CHANNEL, DATA_STREAM)) {
            awaitConnected(new Spin(PEER_WAIT_NANOS, "waiting for the Aeron receiver to connect"), null, data);
            UnsafeBuffer buffer = sendBuffer(size);
            Spin spin = new Spin(IDLE_NANOS, "waiting for Aeron flow control");
            for (long seq = 0; seq < total; seq++) {
                write(buffer, size, seq);
                offer(data, buffer, 0, size, spin);
                spin.reset();
            }
            Peer.awaitRelease();
        }
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
