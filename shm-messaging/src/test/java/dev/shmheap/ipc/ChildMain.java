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
 *       claims a slot for it, prints "CLAIMED position offset" and halts before publishing;</li>
 *   <li>{@code claim ID COUNT}: sends COUNT messages with tryClaim/commit, written in place
 *       (the short ones inline in the ring, the long ones in claimed blocks), prints "DONE";</li>
 *   <li>{@code claim-inline-and-halt ID COUNT}: sends COUNT messages with tryClaim, then claims
 *       room for message COUNT (short: inline), writes half of it, prints "CLAIMED position"
 *       and halts before committing;</li>
 *   <li>{@code until-full ID COUNT}: sends COUNT messages with tryClaim; the first time the ring
 *       refuses, prints "FULL sent" (how many were committed until then), then retries until
 *       all are sent and prints "DONE refusals".</li>
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
                        claimAndCommit(heap, sender, new ShmClaim(), id, 0); // short: inline
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
                    case "claim" -> {
                        long count = Long.parseLong(args[4]);
                        ShmClaim claim = new ShmClaim();
                        for (long seq = 0; seq < count; seq++) {
                            claimAndCommit(heap, sender, claim, id, seq);
                        }
                        System.out.println("DONE " + count);
                    }
                    case "claim-inline-and-halt" -> {
                        long count = Long.parseLong(args[4]);
                        ShmClaim claim = new ShmClaim();
                        for (long seq = 0; seq < count; seq++) {
                            claimAndCommit(heap, sender, claim, id, seq);
                        }
                        int length = TestMessages.length(id, count);
                        if (!sender.tryClaim(length, claim) || !claim.isInline()) {
                            throw new IllegalStateException("expected an inline claim of " + length + " B: " + claim);
                        }
                        heap.putLong(claim.offset(), id);
                        heap.putLong(claim.offset() + 8, count); // half written: the pattern is missing
                        System.out.println("CLAIMED " + claim.position());
                        System.out.flush();
                        Runtime.getRuntime().halt(0);
                    }
                    case "until-full" -> {
                        long count = Long.parseLong(args[4]);
                        ShmClaim claim = new ShmClaim();
                        long refusals = 0;
                        for (long seq = 0; seq < count; seq++) {
                            while (!sender.tryClaim(TestMessages.length(id, seq), claim)) {
                                if (refusals++ == 0) {
                                    System.out.println("FULL " + seq);
                                }
                                Thread.onSpinWait();
                            }
                            TestMessages.fill(heap, claim.offset(), id, seq);
                            claim.commit();
                        }
                        System.out.println("DONE " + refusals);
                    }
                    default -> throw new IllegalArgumentException("unknown mode " + args[2]);
                }
            }
        }
    }

    static void claimAndCommit(ShmHeap heap, ShmSender sender, ShmClaim claim, int id, long seq) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!sender.tryClaim(TestMessages.length(id, seq), claim)) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("no room for 30 s at message " + seq);
            }
            Thread.onSpinWait();
        }
        TestMessages.fill(heap, claim.offset(), id, seq);
        claim.commit();
    }

    private static void send(ShmHeap heap, ShmSender sender, int id, long seq) throws InterruptedException {
        long block = TestMessages.allocate(heap, id, seq);
        if (!sender.offer(block, TestMessages.length(id, seq), 30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("channel full for 30 s at message " + seq);
        }
    }
}
