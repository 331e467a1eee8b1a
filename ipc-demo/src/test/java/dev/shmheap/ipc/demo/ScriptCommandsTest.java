package dev.shmheap.ipc.demo;

import dev.shmheap.ipc.ChannelDescriptor;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code throughput} and {@code pingpong} as scripts/throughput.sh and scripts/pingpong.sh run
 * them: the jar's entry point in a child JVM (it exits with the result), which starts its peer
 * JVMs itself.
 */
class ScriptCommandsTest {
    /** Bounds a hung child only: a run of a few thousand messages takes seconds. */
    private static final long CHILD_LIMIT_SECONDS = 120;

    /** What a child JVM printed and its exit status. */
    private record Run(int status, List<String> out, String err) {
    }

    private static Run ipcDemo(String... args) throws Exception {
        Path out = Files.createTempFile("shmheap-scriptcommandstest-", ".out");
        Path err = Files.createTempFile("shmheap-scriptcommandstest-", ".err");
        Process child = null;
        try {
            child = new ProcessBuilder(ChildJvm.command(IpcDemo.class, List.of("-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"),
                    List.of(args))).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            assertTrue(child.waitFor(CHILD_LIMIT_SECONDS, TimeUnit.SECONDS), "the child JVM did not exit");
            return new Run(child.exitValue(), Files.readAllLines(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            if (child != null) {
                child.destroyForcibly().waitFor();
            }
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static Path heapPath(String label) {
        return Args.defaultDirectory().resolve("shmheap-scriptcommandstest-" + label + "-" + ProcessHandle.current().pid() + ".heap");
    }

    @Test
    void shouldSendInlineInEightyByteSlots() throws Exception {
        Path heap = heapPath("slots80");
        try {
            Run run = ipcDemo("throughput", "--heap", heap.toString(), "--capacity", "32m", "--producers", "1", "--size", "64",
                    "--count", "3000", "--slot-length", "80");
            String all = String.join("\n", run.out());
            assertEquals(0, run.status(), () -> "stdout:\n" + all + "\nstderr:\n" + run.err());
            assertTrue(all.contains("RESULT: PASS"), all);
            assertTrue(all.contains("8192 slots of 80 B"), all);
            // 64 B fits one 80-byte slot; records of up to 960 bytes (a quarter of the ring at most:
            // 944 B of message) go inline: the 3000 messages and the end-of-stream all go inline.
            assertTrue(all.contains("messages: 3,001 inline (in the ring, up to 944 B), 0 by offset"), all);
            String last = run.out().get(run.out().size() - 1);
            assertTrue(last.matches("msgs_per_s=\\d+ mb_per_s=\\d+\\.\\d"), last);
        } finally {
            Files.deleteIfExists(heap);
        }
    }

    /**
     * Round trips inline (64 B in 80-byte slots: the echo copies ring to ring) and by offset
     * (2000 B: more than the longest inline record); ping checks the length and both sequence words of every reply and exits non-zero
     * on a mismatch (the copy's every byte is checked by ShmChannelTest's forwarding test).
     */
    @Test
    void shouldRunRoundTripsInlineAndByOffset() throws Exception {
        for (String size : List.of("64", "2000")) {
            Path heap = heapPath("pingpong" + size);
            try {
                Run run = ipcDemo("pingpong", "--heap", heap.toString(), "--size", size, "--count", "2000", "--warmup", "200",
                        "--slot-length", "80");
                String all = String.join("\n", run.out());
                assertEquals(0, run.status(), () -> "stdout:\n" + all + "\nstderr:\n" + run.err());
                assertTrue(all.contains(size.equals("64") ? "inline, in the ring; 80-byte slots" : "by offset, in heap blocks; 80-byte slots"),
                        all);
                String last = run.out().get(run.out().size() - 1);
                assertTrue(last.matches("rtt_p50_ns=\\d+ rtt_p99_ns=\\d+ rtt_p999_ns=\\d+"), last);
            } finally {
                Files.deleteIfExists(heap);
            }
        }
    }

    @Test
    void shouldNameABadSlotLengthBeforeCreatingAnything() throws Exception {
        Path heap = heapPath("bad");
        try {
            Run run = ipcDemo("throughput", "--heap", heap.toString(), "--producers", "1", "--count", "10", "--slot-length", "100");
            assertEquals(2, run.status(), run.err());
            assertTrue(run.err().contains("--slot-length") && run.err().contains("'100'"), run.err());
            assertTrue(run.out().stream().noneMatch(line -> line.startsWith("msgs_per_s=")), String.join("\n", run.out()));
            assertFalse(Files.exists(heap), "no heap is created for a command line that cannot run");
        } finally {
            Files.deleteIfExists(heap);
        }
    }

    @Test
    void shouldAcceptExactlyTheChannelsSlotLengths() {
        List<String> accepted = new ArrayList<>();
        for (String value : List.of("16", "31", "32", "48", "80", "100", "256", "65536", "65552", "4294967328", "-32", "80x")) {
            try {
                int slotLength = Args.parse(new String[]{"--slot-length", value}, "usage", "slot-length").slotLength();
                assertTrue(ChannelDescriptor.isSlotLength(slotLength), value);
                accepted.add(value);
            } catch (Args.UsageException e) {
                assertTrue(e.getMessage().contains("--slot-length") && e.getMessage().contains("'" + value + "'"), e.getMessage());
            }
        }
        assertEquals(List.of("32", "48", "80", "256", "65536"), accepted);
        assertEquals(ChannelDescriptor.DEFAULT_SLOT_LENGTH, Args.parse(new String[0], "usage", "slot-length").slotLength());
    }
}
