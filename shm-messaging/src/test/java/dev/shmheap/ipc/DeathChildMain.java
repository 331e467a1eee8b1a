package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Child JVMs of {@link ProcessDeathTest}, killed with SIGKILL while they hold blocks.
 * {@code args[0]} heap path, {@code args[1]} channel name, {@code args[2]} mode, {@code args[3]} N:
 * <ul>
 *   <li>{@code allocate-and-halt N}: a producer allocates and fills N messages (16 B..6 KiB) and is
 *       killed before it offers them: prints "HELD N", then sleeps;</li>
 *   <li>{@code receive-and-hold N}: a consumer polls N messages (taking each block over) and
 *       keeps them: prints "HOLDING N offsets...", then sleeps;</li>
 *   <li>{@code read-and-keep N}: a consumer reads N messages in place, keeps each block (its
 *       reader returns true) and takes it over once read returns: prints "KEPT N offsets...",
 *       then sleeps;</li>
 *   <li>{@code offer-and-halt N}: a producer offers N long messages by offset: prints
 *       "OFFERED N", then sleeps;</li>
 *   <li>{@code read-and-halt-at N}: a consumer reads in place, in one batch, and halts inside
 *       the reader at the N-th message (after the ones before it were handed over, before head
 *       is stored): prints "READ id/seq" for each message before it, then "HALT".</li>
 * </ul>
 */
public final class DeathChildMain {
    private DeathChildMain() {
    }

    public static void main(String[] args) throws Exception {
        ShmHeap heap = ShmHeap.open(Path.of(args[0])); // never closed: the process is killed
        ShmChannel channel = ShmChannel.attach(heap, args[1], Duration.ofSeconds(30));
        int n = Integer.parseInt(args[3]);
        switch (args[2]) {
            case "allocate-and-halt" -> {
                channel.newSender(); // attached as a producer, as a real one would be
                for (int seq = 0; seq < n; seq++) {
                    TestMessages.allocate(heap, 7, 1000 + seq);
                }
                System.out.println("HELD " + n);
            }
            case "receive-and-hold" -> {
                ShmReceiver receiver = channel.newReceiver();
                StringBuilder offsets = new StringBuilder();
                for (int i = 0; i < n; i++) {
                    Optional<Message> m = receiver.poll(30, TimeUnit.SECONDS);
                    Message message = m.orElseThrow(() -> new IllegalStateException("no message to hold"));
                    TestMessages.check(heap, message);
                    offsets.append(' ').append(message.offset());
                }
                System.out.println("HOLDING " + n + offsets);
            }
            case "read-and-keep" -> {
                ShmReceiver receiver = channel.newReceiver();
                StringBuilder offsets = new StringBuilder();
                int[] kept = {0};
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (kept[0] < n) {
                    if (System.nanoTime() - deadline > 0) {
                        throw new IllegalStateException("read only " + kept[0] + " of " + n + " messages");
                    }
                    java.util.List<Long> batch = new java.util.ArrayList<>();
                    receiver.read((offset, length, inline) -> {
                        TestMessages.check(heap, offset, length);
                        batch.add(offset);
                        return true;
                    }, n - kept[0]);
                    for (long offset : batch) { // after read returned: the batch's slots are released
                        heap.takeOver(offset);
                        offsets.append(' ').append(offset);
                        kept[0]++;
                    }
                }
                System.out.println("KEPT " + n + offsets);
            }
            case "offer-and-halt" -> {
                ShmSender sender = channel.newSender();
                for (long seq = 1; seq < 2L * n; seq += 2) { // odd: long messages, by offset
                    long block = TestMessages.allocate(heap, 4, seq);
                    if (!sender.offer(block, TestMessages.length(4, seq), 30, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("the ring stayed full");
                    }
                }
                System.out.println("OFFERED " + n);
            }
            case "read-and-halt-at" -> {
                ShmReceiver receiver = channel.newReceiver();
                int[] seen = {0};
                while (true) {
                    receiver.read((offset, length, inline) -> {
                        long idSeq = TestMessages.check(heap, offset, length);
                        if (++seen[0] == n) {
                            System.out.println("HALT");
                            System.out.flush();
                            Runtime.getRuntime().halt(0);
                        }
                        System.out.println("READ " + (idSeq >>> 40) + "/" + (idSeq & ((1L << 40) - 1)));
                        return false;
                    }, 64, 30, TimeUnit.SECONDS);
                }
            }
            default -> throw new IllegalArgumentException("unknown mode " + args[2]);
        }
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
