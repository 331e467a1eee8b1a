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
 *       keeps them: prints "HOLDING N offsets...", then sleeps.</li>
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
            default -> throw new IllegalArgumentException("unknown mode " + args[2]);
        }
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
