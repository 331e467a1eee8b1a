package dev.shmheap;

import dev.shmheap.testkit.BlockPattern;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * A child JVM that holds blocks and waits to be killed: {@code HolderChild HEAP READY_FILE SEED
 * BLOCKS SHARED HANDED_OFF}. It allocates {@code BLOCKS} blocks of 16 B..260 KiB (seeded), fills
 * each with its {@link BlockPattern}, shares the first {@code SHARED} and hands off the next
 * {@code HANDED_OFF}, and writes one line to READY_FILE (atomically, by rename):
 * {@code held=BYTES kept=BYTES keptBlocks=N} then the kept blocks as {@code offset:size:base}
 * lines. Then it sleeps until it is killed.
 */
public final class HolderChild {
    private HolderChild() {
    }

    public static void main(String[] args) throws Exception {
        Path heapFile = Path.of(args[0]);
        Path ready = Path.of(args[1]);
        long seed = Long.parseLong(args[2]);
        int blocks = Integer.parseInt(args[3]);
        int shared = Integer.parseInt(args[4]);
        int handedOff = Integer.parseInt(args[5]);
        ShmHeap heap = ShmHeap.open(heapFile);
        Random random = new Random(seed);
        long held = 0;
        long kept = 0;
        StringBuilder keptLines = new StringBuilder();
        for (int i = 0; i < blocks; i++) {
            long size = 16L << random.nextInt(15); // 16 B .. 256 KiB
            size += random.nextInt((int) Math.min(size, 4096)); // up to 260 KiB
            long offset = heap.allocate(size);
            long usable = heap.usableSize(offset);
            long base = BlockPattern.base((int) seed, i);
            BlockPattern.write(heap, offset, size, usable, base);
            if (i < shared + handedOff) {
                if (i < shared) {
                    heap.share(offset);
                } else {
                    heap.handOff(offset);
                }
                kept += usable;
                keptLines.append(offset).append(':').append(size).append(':').append(usable).append(':').append(base).append('\n');
            } else {
                held += usable;
            }
        }
        Path temp = ready.resolveSibling(ready.getFileName() + ".tmp");
        Files.writeString(temp, "held=" + held + " kept=" + kept + " keptBlocks=" + (shared + handedOff) + "\n" + keptLines);
        Files.move(temp, ready);
        Thread.sleep(Long.MAX_VALUE);
    }
}
