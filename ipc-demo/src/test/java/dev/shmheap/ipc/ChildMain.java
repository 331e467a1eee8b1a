package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * What the multi-process tests run in child JVMs. {@code args[0]} is the heap path,
 * {@code args[1]} the channel name, {@code args[2]} the mode:
 * <ul>
 *   <li>{@code send ID COUNT}: sends COUNT messages (see {@link TestMessages}), prints "DONE";</li>
 *   <li>{@code send-when-asleep ID}: waits until the consumer says it sleeps, sends one
 *       message, prints "SENT";</li>
 *   <li>{@code claim-and-halt ID COUNT}: sends COUNT messages, allocates and fills one more,
 *       claims a slot for it, prints "CLAIMED position offset" and halts before publishing.</li>
 * </ul>
 */
public final class ChildMain {
    private ChildMain() {
    }

    public static void main(String[] args) throws Exception {
        try (ShmHeap heap = ShmHeap.open(Path.of(args[0]))) {
            ShmChannel channel = ShmChannel.attach(heap, args[1], Duration.ofSeconds(30));
            int id = Integer.parseInt(args[3]);
            try (ShmSender sender = channel.newSender()) {
                System.out.println("ATTACHED " + sender.producerIndex());
                switch (args[2]) {
                    case "send" -> {
                        long count = Long.parseLong(args[4]);
                        for (long seq = 0; seq < count; seq++) {
                            send(heap, sender, id, seq);
                        }
                        System.out.println("DONE " + count);
                    }
                    case "send-when-asleep" -> {
                        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                        while (!channel.consumerWaiting()) {
                            if (System.nanoTime() - deadline > 0) {
                                throw new IllegalStateException("the consumer never went to sleep");
                            }
                            Thread.onSpinWait();
                        }
                        send(heap, sender, id, 0);
                        System.out.println("SENT");
                    }
                    case "claim-and-halt" -> {
                        long count = Long.parseLong(args[4]);
                        for (long seq = 0; seq < count; seq++) {
                            send(heap, sender, id, seq);
                        }
                        long block = TestMessages.allocate(heap, id, count);
                        long position = sender.claimWithoutPublishing();
                        System.out.println("CLAIMED " + position + " " + block);
                        System.out.flush();
                        Runtime.getRuntime().halt(0);
                    }
                    default -> throw new IllegalArgumentException("unknown mode " + args[2]);
                }
            }
        }
    }

    private static void send(ShmHeap heap, ShmSender sender, int id, long seq) throws InterruptedException {
        long block = TestMessages.allocate(heap, id, seq);
        if (!sender.offer(block, TestMessages.length(id, seq), 30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("channel full for 30 s at message " + seq);
        }
    }
}
