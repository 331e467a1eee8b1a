package dev.shmheap.ipc.demo;

import dev.shmheap.ShmHeap;
import dev.shmheap.ipc.ChannelDescriptor;
import dev.shmheap.ipc.ShmChannel;
import dev.shmheap.ipc.ShmSender;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The demo's consumer and producer mains, end to end, with the producers in child JVMs. */
class DemoTest {
    @Test
    void shouldPassWithTwoProducerJvmsOfMixedSizes() throws Exception {
        Path path = Args.defaultDirectory().resolve("shmheap-ipc-demotest-" + ProcessHandle.current().pid() + ".heap");
        List<Process> producers = new ArrayList<>();
        try {
            int status = Consumer.run(path, 32L << 20, "demo", 256, ChannelDescriptor.DEFAULT_SLOT_LENGTH, 2, Duration.ofSeconds(30), () -> {
                for (int id = 1; id <= 2; id++) {
                    try {
                        producers.add(ChildJvm.start(Producer.class, List.of("-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"),
                                List.of("--heap", path.toString(), "--capacity", "32m", "--id", Integer.toString(id), "--count", "1500",
                                        "--min-size", "64", "--max-size", "64k")));
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            });
            for (Process producer : producers) {
                assertTrue(producer.waitFor(30, TimeUnit.SECONDS));
                assertEquals(0, producer.exitValue());
            }
            assertEquals(0, status, "the consumer saw every message intact and the heap back at its start");
        } finally {
            producers.forEach(Process::destroyForcibly);
            Files.deleteIfExists(path);
        }
    }

    /** The consumer's checks can fail: a corrupted payload is reported, not passed. */
    @Test
    void shouldReportACorruptedPayload() throws Exception {
        Path path = Args.defaultDirectory().resolve("shmheap-ipc-demotest-bad-" + ProcessHandle.current().pid() + ".heap");
        try (ShmHeap heap = ShmHeap.create(path, 4L << 20)) {
            ShmChannel channel = ShmChannel.create(heap, "bad", 16);
            Consumer.Result result;
            try (var receiver = channel.newReceiver(); ShmSender sender = channel.newSender()) {
                byte[] source = new byte[4096];
                for (long seq = 0; seq < 3; seq++) {
                    long block = heap.allocate(1000);
                    DemoMessage.write(new DemoMessage.HeapSink(heap).at(block), 1000, 1, seq, source, 0);
                    if (seq == 1) {
                        heap.putByte(block + 500, (byte) 1);
                    }
                    assertTrue(sender.offer(block, 1000));
                }
                long end = heap.allocate(DemoMessage.HEADER_LENGTH);
                DemoMessage.writeEnd(new DemoMessage.HeapSink(heap).at(end), 1, 3);
                assertTrue(sender.offer(end, DemoMessage.HEADER_LENGTH));
                result = Consumer.receive(heap, receiver, 1, Duration.ofSeconds(5));
            }
            channel.destroy(Duration.ZERO);
            assertFalse(result.ok(1));
            assertEquals(1, result.checksumFailures);
            assertEquals(0, heap.stats().usedBytes(), "the consumer frees bad messages too");
        } finally {
            Files.deleteIfExists(path);
        }
    }
}
