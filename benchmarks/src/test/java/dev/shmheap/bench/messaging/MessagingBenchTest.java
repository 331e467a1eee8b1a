package dev.shmheap.bench.messaging;

import dev.shmheap.bench.report.ResultRow;
import io.aeron.logbuffer.FrameDescriptor;
import io.aeron.logbuffer.Header;
import io.aeron.protocol.DataHeaderFlyweight;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The messaging driver's pieces with tiny counts, each with its peer JVM: every message must
 * arrive, in order and whole (the pieces check each one and throw otherwise), the counts must
 * match, and every file a piece creates (heaps, the floor's file, Aeron directories) must be
 * gone when it returns. No assertion on timings.
 */
class MessagingBenchTest {
    private Path dir;

    @BeforeEach
    void createDirectory() throws IOException {
        dir = Files.createTempDirectory(MessagingBench.defaultDirectory(), "msgbench-test-");
    }

    @AfterEach
    void deleteDirectory() throws IOException {
        AeronBench.deleteRecursively(dir);
    }

    private void assertNothingLeftBehind() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(), files.toList(), "files left behind in " + dir);
        }
    }

    private static void assertSane(RoundTrip rtt, long count) {
        assertEquals(count, rtt.count(), "round trips recorded");
        assertTrue(rtt.p50() > 0 && rtt.p50() <= rtt.p99() && rtt.p99() <= rtt.p999() && rtt.p999() <= rtt.max(), rtt::toString);
    }

    @Test
    void cacheLineFloorBouncesEveryRoundTrip() throws Exception {
        assertSane(CacheLineFloor.measure(dir, 100, 2_000), 2_000);
        assertNothingLeftBehind();
    }

    @Test
    void twoLineRingReturnsEveryMessageInOrder() throws Exception {
        // More round trips than the ring has slots: each slot is reused, and ping checks both
        // sequence words of every reply.
        assertSane(CacheLineFloor.measureRing(dir, 100, 10_000), 10_000);
        assertNothingLeftBehind();
    }

    @Test
    void oursRoundTripReturnsEveryBlockInOrder() throws Exception {
        assertSane(OursBench.roundTrip(dir, 64, 100, 2_000), 2_000);
        assertSane(OursBench.roundTrip(dir, 1024, 100, 1_000), 1_000);
        assertNothingLeftBehind();
    }

    @Test
    void aeronRoundTripReturnsEveryMessageInOrder() throws Exception {
        assertSane(AeronBench.roundTrip(dir, 64, 100, 2_000), 2_000);
        assertNothingLeftBehind();
    }

    @Test
    void oursThroughputDeliversEveryMessageInOrderAndFreesIt() throws Exception {
        // Inline (64 B), by offset in a slab block (4 KiB) and in a buddy block (64 KiB); the run
        // fails if the heap leaked.
        for (int size : new int[] {64, 4096, 65536}) {
            Throughput t = OursBench.throughput(dir, size, 100, 3_000);
            assertEquals(3_000, t.messages());
            assertEquals(size, t.size());
            assertTrue(t.nanos() > 0);
        }
        // Packed 80-byte slots: more messages than slots, each checked in place.
        Throughput packed = OursBench.throughput(dir, 64, OursBench.sizedSlotLength(64), 100, 3_000);
        assertEquals(3_000, packed.messages());
        assertNothingLeftBehind();
    }

    /** The throughput suite end to end with tiny counts: every size, the sized-slot runs where a size travels inline. */
    @Test
    void throughputSuiteRunsEverySizeAndReportsEachConfiguration() throws Exception {
        long[] warm = {100, 100, 100};
        long[] count = {2_000, 1_000, 200};
        List<ResultRow> rows = MessagingBench.run(dir, new MessagingBench.Counts(0, 0, warm, count, 1), java.util.Set.of("tput"));
        for (String name : List.of("throughput 64 B msg/s", "throughput 64 B msg/s, slots sized to the message (80 B)",
                "throughput 4 KiB msg/s", "throughput 64 KiB MB/s")) {
            row(rows, name);
        }
        assertTrue(rows.stream().noneMatch(r -> r.benchCase().contains("KiB") && r.benchCase().contains("sized")),
                "by-offset sizes have no sized-slot rows: " + rows);
        assertNothingLeftBehind();
    }

    @Test
    void sizedSlotsHoldTheHeaderAndTheMessageInWholeSixteens() {
        assertEquals(80, OursBench.sizedSlotLength(64));
        assertEquals(48, OursBench.sizedSlotLength(32));
        assertEquals(32, OursBench.sizedSlotLength(16), "the smallest slot");
        assertEquals(96, OursBench.sizedSlotLength(72));
        assertEquals(256, OursBench.sizedSlotLength(240));
    }

    @Test
    void aeronThroughputDeliversEveryMessageInOrder() throws Exception {
        // 4 KiB travels as several fragments: the checker must see them add up.
        for (int size : new int[] {64, 4096}) {
            Throughput t = AeronBench.throughput(dir, size, 100, 3_000);
            assertEquals(3_000, t.messages());
            assertTrue(t.nanos() > 0);
        }
        assertNothingLeftBehind();
    }

    @Test
    void aeronCheckerRejectsAGapAndATruncatedMessage() {
        UnsafeBuffer frame = new UnsafeBuffer(new byte[DataHeaderFlyweight.HEADER_LENGTH + 64]);
        Header header = new Header(0, 16).buffer(frame).offset(0);
        frame.putByte(DataHeaderFlyweight.FLAGS_FIELD_OFFSET, (byte) (FrameDescriptor.BEGIN_FRAG_FLAG | FrameDescriptor.END_FRAG_FLAG));
        int payload = DataHeaderFlyweight.HEADER_LENGTH;

        AeronBench.Checker checker = new AeronBench.Checker(64, 1);
        frame.putLong(payload, 0);
        frame.putLong(payload + 56, 0);
        checker.onFragment(frame, payload, 64, header);
        assertEquals(1, checker.expected);
        frame.putLong(payload, 2);
        frame.putLong(payload + 56, 2);
        assertThrows(IllegalStateException.class, () -> checker.onFragment(frame, payload, 64, header), "message 1 is missing");

        AeronBench.Checker short_ = new AeronBench.Checker(64, 1);
        frame.putLong(payload, 0);
        frame.putLong(payload + 40, 0);
        assertThrows(IllegalStateException.class, () -> short_.onFragment(frame, payload, 48, header), "48 of 64 bytes");
    }

    @Test
    void rowsCompareMediansWithTheTargets() {
        RoundTrip fast = new RoundTrip(10, 500, 900, 5_000, 9_000);
        RoundTrip slow = new RoundTrip(10, 1_000, 2_000, 9_000, 9_000);
        RoundTrip floor = new RoundTrip(10, 400, 600, 900, 9_000);
        Map<String, List<RoundTrip>> rtts = new java.util.LinkedHashMap<>();
        rtts.put("floor", List.of(floor));
        rtts.put("ring", List.of(new RoundTrip(10, 450, 700, 900, 9_000)));
        rtts.put("ours 64", List.of(fast, slow, fast));       // median: fast
        rtts.put("aeron 64", List.of(slow));
        rtts.put("ours 1024", List.of(slow));
        rtts.put("aeron 1024", List.of(fast));
        Map<String, List<Throughput>> tputs = Map.of(
                "ours 65536", List.of(new Throughput(300, 65536, 1_000_000)),   // by offset: no sized row
                "aeron 65536", List.of(new Throughput(100, 65536, 1_000_000)),
                "ours 64", List.of(new Throughput(1_000, 64, 1_000_000)),      // 1e6 msg/s
                "aeron 64", List.of(new Throughput(3_000, 64, 1_000_000)),     // 3e6 msg/s: 0.33x < 1x
                "ours sized 64", List.of(new Throughput(4_000, 64, 1_000_000)), // 4e6 msg/s: 1.33x
                "ours 4096", List.of(new Throughput(2_000, 4096, 1_000_000)),
                "aeron 4096", List.of(new Throughput(1_000, 4096, 1_000_000)));
        List<ResultRow> rows = MessagingBench.rows(rtts, tputs);
        assertEquals("yes", row(rows, "round trip 64 B p50").verdict());
        assertEquals("0.50x", row(rows, "round trip 64 B p50").ratio());
        assertEquals("", row(rows, "round trip 1 KiB p99").target(), "the issue sets targets for 64 B only");
        assertEquals("NO", row(rows, "round trip 64 B p99 vs floor").verdict(), "900 > 1.3 x 600");
        assertEquals("", row(rows, "round trip 64 B p99.9").target(), "the issue sets no p99.9 target");
        assertEquals("yes", row(rows, "round trip 64 B p50 vs floor").verdict(), "500 <= 1.3 x 400");
        assertEquals("1.11x", row(rows, "round trip 64 B p50 vs two-line ring").ratio(), "500 / 450");
        assertEquals("", row(rows, "round trip 64 B p50 vs two-line ring").target(), "a reference, not a target");
        assertEquals("1.13x", row(rows, "two-line ring round trip p50 vs floor").ratio(), "450 / 400");
        assertEquals("NO", row(rows, "throughput 64 B msg/s").verdict());
        assertEquals("yes", row(rows, "throughput 64 B msg/s, slots sized to the message (80 B)").verdict());
        assertEquals("1.33x", row(rows, "throughput 64 B msg/s, slots sized to the message (80 B)").ratio());
        assertTrue(rows.stream().noneMatch(r -> r.benchCase().startsWith("throughput 4 KiB") && r.benchCase().contains("sized")),
                "no sized row without its figures");
        assertEquals("yes", row(rows, "throughput 4 KiB MB/s").verdict());
        assertTrue(rows.stream().allMatch(r -> r.area().equals("messaging")));
        assertEquals("yes", row(rows, "throughput 64 KiB msg/s").verdict(), "3x");
    }

    private static ResultRow row(List<ResultRow> rows, String benchCase) {
        return rows.stream().filter(r -> r.benchCase().equals(benchCase)).findFirst()
                .orElseThrow(() -> new AssertionError("no row " + benchCase + " in " + rows));
    }
}
