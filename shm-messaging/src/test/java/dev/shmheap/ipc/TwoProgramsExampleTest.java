package dev.shmheap.ipc;

import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The README's example of two programs exchanging messages, run as written in two child JVMs:
 * the sender twice (a rerun attaches to the channel its first run left), then the receiver.
 */
class TwoProgramsExampleTest {
    @Test
    void shouldRunTheReadmeExampleAsTwoPrograms() throws Exception {
        Path path = TestHeaps.newPath("readme");
        try {
            for (int run = 0; run < 2; run++) {
                try (Child sender = Child.start(Sender.class, path.toString())) {
                    assertEquals(0, sender.awaitExit(60), sender.output());
                }
            }
            try (Child receiver = Child.start(Receiver.class, path.toString())) {
                assertEquals(0, receiver.awaitExit(60), receiver.output());
                assertEquals("42 3.14\n42 3.14", receiver.output(), "both runs' messages");
            }
        } finally {
            TestHeaps.delete(path);
        }
    }

    /** README, program 1. */
    public static final class Sender {
        public static void main(String[] args) throws Exception {
            // --- as in the README ---
            try (ShmHeap heap = ShmHeap.openOrCreate(Path.of(args[0]), 64 << 20);
                 ShmSender out = ShmChannel.openOrCreate(heap, "greetings", 1024).newSender()) {
                ShmClaim claim = new ShmClaim();
                while (!out.tryClaim(16, claim)) {
                    Thread.onSpinWait(); // the ring is full: back pressure
                }
                claim.putInt(0, 42);
                claim.putDouble(8, 3.14);
                claim.commit();
            }
        }
    }

    /** README, program 2. */
    public static final class Receiver {
        public static void main(String[] args) throws Exception {
            // --- as in the README ---
            try (ShmHeap heap = ShmHeap.openOrCreate(Path.of(args[0]), 64 << 20);
                 ShmReceiver in = ShmChannel.openOrCreate(heap, "greetings", 1024).newReceiver()) {
                in.read((offset, length, inline) -> {
                    System.out.println(in.getInt(0) + " " + in.getDouble(8));
                    return false; // false: a message in a heap block of its own is freed after the batch
                }, 16, 5, TimeUnit.SECONDS);
            }
        }
    }
}
