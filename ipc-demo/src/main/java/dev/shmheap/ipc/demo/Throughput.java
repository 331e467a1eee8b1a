package dev.shmheap.ipc.demo;

import dev.shmheap.ipc.ChannelDescriptor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Messages/s and MB/s for one message size and a number of producer JVMs: this process
 * consumes (and checks every message), {@code --producers} child JVMs produce
 * {@code --count} messages each. Messages of up to {@code --slot-length} - 16 bytes travel
 * inline in the ring's slots, longer ones by offset. The last line of output is {@code msgs_per_s=... mb_per_s=...}
 * (payload megabytes, 10^6 bytes), for scripts.
 */
public final class Throughput {
    static final String USAGE = "throughput [--heap PATH] [--capacity 256m] [--producers 2] [--size 1k] [--count 200000]"
            + " [--slots 8192] [--slot-length 32]";

    private Throughput() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = Args.parse(argv, USAGE, "heap", "capacity", "producers", "size", "count", "slots",
                "slot-length");
        Path path = args.heapPath("throughput");
        boolean ownHeap = !args.has("heap") && !Files.exists(path);
        int producers = args.getInt("producers", 2);
        int size = args.getInt("size", 1024);
        long count = args.getLong("count", 200_000);
        long capacity = args.getLong("capacity", 256L << 20);
        int slotLength = args.slotLength();
        System.out.println("throughput: " + producers + " producer JVM(s) x " + Units.count(count) + " messages of " + size + " B, "
                + slotLength + "-byte slots (" + (size <= ChannelDescriptor.inlineCapacity(args.slots(), slotLength) ? "inline" : "by offset") + ")");
        List<Process> children = new ArrayList<>();
        int status;
        try {
            Consumer.Outcome outcome = Consumer.measure(path, capacity, "throughput", args.slots(), slotLength, producers,
                    Duration.ofSeconds(60), () -> {
                for (int id = 1; id <= producers; id++) {
                    try {
                        List<String> producerArgs = new ArrayList<>(List.of("--heap", path.toString(), "--capacity",
                                Long.toString(capacity), "--channel", "throughput", "--id", Integer.toString(id), "--count",
                                Long.toString(count), "--min-size", Integer.toString(size), "--max-size", Integer.toString(size)));
                        if (producers == 1) {
                            producerArgs.add("--exclusive"); // a single producer claims without a CAS, as the benchmark's does
                        }
                        children.add(ChildJvm.start(Producer.class, List.of("-Xmx256m"), producerArgs));
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            });
            status = outcome.status();
            for (Process child : children) {
                if (!child.waitFor(30, TimeUnit.SECONDS) || child.exitValue() != 0) {
                    status = 1;
                }
            }
            Consumer.Result result = outcome.result();
            System.out.println(String.format(Locale.ROOT, "msgs_per_s=%.0f mb_per_s=%.1f", result.messages / result.seconds(),
                    result.bytes / result.seconds() / 1e6));
        } finally {
            children.forEach(Process::destroyForcibly);
            if (ownHeap) {
                Files.deleteIfExists(path);
            }
        }
        System.exit(status);
    }
}
