package dev.shmheap;

import dev.shmheap.testkit.BlockPattern;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The child JVM of the multi-process tests. Modes:
 *
 * <ul>
 *   <li>{@code churn HEAP ID SEED MILLIS READY GO HELD_LIMIT [sabotage]}: opens the heap,
 *       creates READY, waits for GO, then for MILLIS ms allocates and frees blocks of
 *       64 B..1 MiB with a seeded Random, each filled with the {@link BlockPattern} of (ID,
 *       sequence) and checked before it is freed; frees everything at the end and prints
 *       {@code ops=N}. With {@code sabotage} the child also keeps writing its pattern into
 *       the last blocks it freed, as a process would that was handed a block another process
 *       still holds: the tests use it to show that the others detect such writes.</li>
 *   <li>{@code race DIR ID CAPACITY CONTROL ROUNDS BLOCKS}: for each round r, creates
 *       CONTROL/ready-r-ID, waits for CONTROL/go-r, calls {@code openOrCreate(DIR/race-r.heap,
 *       CAPACITY)}, allocates BLOCKS blocks, fills them with the pattern of (ID, k) and leaves
 *       them allocated; prints {@code capacity.r=C} and one {@code block.r=OFFSET,SIZE,SEQ} line
 *       per block.</li>
 * </ul>
 *
 * <p>Exit codes: 0 success; 2 bad arguments; 3 a block overlaps one this process holds, is
 * misaligned, or is smaller than requested; 4 a block's pattern was overwritten (another
 * process wrote into it); 5 an unexpected exception; 6 {@code free} rejected a block this
 * process holds; 7 the start barrier timed out. Every violation is printed on stderr with the
 * offset.
 */
public final class MultiProcessWorker {
    static final int EXIT_BAD_ARGS = 2;
    static final int EXIT_OVERLAP = 3;
    static final int EXIT_OVERWRITTEN = 4;
    static final int EXIT_UNEXPECTED = 5;
    static final int EXIT_FREE_REJECTED = 6;
    static final int EXIT_BARRIER_TIMEOUT = 7;

    private static final long BARRIER_TIMEOUT_MILLIS = 30_000;
    private static final int MAX_HELD_BLOCKS = 512;

    private MultiProcessWorker() {
    }

    /** A violation found by this process; ends it with {@link #code}. */
    static final class Violation extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int code;

        Violation(int code, String message) {
            super(message);
            this.code = code;
        }
    }

    public static void main(String[] args) {
        int code;
        try {
            if (args.length == 0) {
                throw new Violation(EXIT_BAD_ARGS, "usage: churn|race ...");
            }
            switch (args[0]) {
                case "churn" -> churn(args);
                case "race" -> race(args);
                default -> throw new Violation(EXIT_BAD_ARGS, "unknown mode " + args[0]);
            }
            code = 0;
        } catch (Violation v) {
            System.err.println("VIOLATION (pid " + ProcessHandle.current().pid() + "): " + v.getMessage());
            code = v.code;
        } catch (Throwable t) {
            System.err.println("UNEXPECTED (pid " + ProcessHandle.current().pid() + "): " + t);
            t.printStackTrace();
            code = EXIT_UNEXPECTED;
        }
        System.out.flush();
        System.err.flush();
        System.exit(code);
    }

    // ---- churn ----

    /** A block this process holds. */
    private record Held(long offset, long size, long usable, long base) {
    }

    private static void churn(String[] args) throws IOException {
        if (args.length != 8 && !(args.length == 9 && args[8].equals("sabotage"))) {
            throw new Violation(EXIT_BAD_ARGS, "usage: churn HEAP ID SEED MILLIS READY GO HELD_LIMIT [sabotage], got " + List.of(args));
        }
        Path heapPath = Path.of(args[1]);
        int id = Integer.parseInt(args[2]);
        long seed = Long.parseLong(args[3]);
        long millis = Long.parseLong(args[4]);
        Path ready = Path.of(args[5]);
        Path go = Path.of(args[6]);
        long heldLimit = Long.parseLong(args[7]);
        boolean sabotage = args.length == 9;

        try (ShmHeap heap = ShmHeap.open(heapPath)) {
            Files.createFile(ready);
            awaitFile(go);
            Churn churn = new Churn(heap, id, new Random(seed), heldLimit, sabotage);
            long start = System.currentTimeMillis();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
            while (System.nanoTime() - deadline < 0) {
                for (int i = 0; i < 64; i++) {
                    churn.step();
                }
            }
            churn.checkAll();
            churn.freeAll();
            long end = System.currentTimeMillis();
            System.out.println("allocations=" + churn.allocations);
            System.out.println("frees=" + churn.frees);
            System.out.println("full=" + churn.fullEvents);
            System.out.println("maxHeldBytes=" + churn.maxHeldBytes);
            System.out.println("window=" + start + "," + end);
            System.out.println("ops=" + (churn.allocations + churn.frees));
        }
    }

    /** One process's random allocate/free loop with its own-blocks bookkeeping. */
    private static final class Churn {
        private final ShmHeap heap;
        private final int id;
        private final Random random;
        private final long heldLimit;
        private final List<Held> held = new ArrayList<>();
        /** The blocks held, by offset, to see a new block overlap one of ours. */
        private final TreeMap<Long, Held> byOffset = new TreeMap<>();
        private final boolean sabotage;
        /** With sabotage: blocks this process freed and still writes into. */
        private final ArrayDeque<Held> ghosts = new ArrayDeque<>();
        private long heldBytes;
        private long seq;
        long allocations;
        long frees;
        long fullEvents;
        long maxHeldBytes;

        Churn(ShmHeap heap, int id, Random random, long heldLimit, boolean sabotage) {
            this.heap = heap;
            this.id = id;
            this.random = random;
            this.heldLimit = heldLimit;
            this.sabotage = sabotage;
        }

        void step() {
            boolean allocate = held.isEmpty()
                    || (heldBytes < heldLimit && held.size() < MAX_HELD_BLOCKS && random.nextInt(100) < 55);
            if (allocate) {
                allocateOne();
            } else {
                freeAt(random.nextInt(held.size()));
            }
            if (((allocations + frees) & 4095) == 0) {
                checkAll();
            }
            if (sabotage) {
                for (Held ghost : ghosts) {
                    if (!overlapsHeld(ghost.offset(), ghost.usable())) {
                        BlockPattern.write(heap, ghost.offset(), ghost.size(), ghost.usable(), ghost.base());
                    }
                }
            }
        }

        /** True if [offset, offset + length) overlaps a block this process holds. */
        private boolean overlapsHeld(long offset, long length) {
            Map.Entry<Long, Held> below = byOffset.floorEntry(offset);
            if (below != null && below.getKey() + below.getValue().usable() > offset) {
                return true;
            }
            Map.Entry<Long, Held> above = byOffset.higherEntry(offset);
            return above != null && above.getKey() < offset + length;
        }

        private long nextSize() {
            int bucket = random.nextInt(100);
            if (bucket < 60) {
                return 64 + random.nextInt(4096 - 64 + 1);
            }
            if (bucket < 90) {
                return 4097 + random.nextInt(65536 - 4097 + 1);
            }
            return 65537 + random.nextInt((1 << 20) - 65537 + 1);
        }

        private long nextAlignment() {
            return random.nextInt(100) < 80 ? ShmHeap.DEFAULT_ALIGNMENT : 1L << (3 + random.nextInt(10));
        }

        private void allocateOne() {
            long size = nextSize();
            long alignment = nextAlignment();
            long offset;
            if (random.nextBoolean()) {
                offset = heap.tryAllocate(size, alignment);
            } else {
                try {
                    offset = heap.allocate(size, alignment);
                } catch (HeapFullException e) {
                    offset = ShmHeap.NO_SPACE;
                }
            }
            if (offset == ShmHeap.NO_SPACE) {
                fullEvents++;
                // Make room: give back about a quarter of what we hold, at least one block.
                int n = Math.max(1, held.size() / 4);
                for (int i = 0; i < n && !held.isEmpty(); i++) {
                    freeAt(random.nextInt(held.size()));
                }
                if (held.isEmpty()) {
                    Thread.yield();
                }
                return;
            }
            allocations++;
            if (offset % alignment != 0) {
                throw new Violation(EXIT_OVERLAP, "worker " + id + ": allocate(" + size + ", " + alignment + ") returned offset " + offset
                        + ", not a multiple of the alignment");
            }
            long usable = heap.usableSize(offset);
            if (usable < size) {
                throw new Violation(EXIT_OVERLAP, "worker " + id + ": block at offset " + offset + " has usable size " + usable
                        + " < requested " + size);
            }
            Map.Entry<Long, Held> below = byOffset.floorEntry(offset);
            if (below != null && below.getValue().offset() + below.getValue().usable() > offset) {
                throw new Violation(EXIT_OVERLAP, "worker " + id + ": new block [" + offset + ", " + (offset + usable)
                        + ") overlaps block [" + below.getKey() + ", " + (below.getKey() + below.getValue().usable())
                        + ") this process still holds");
            }
            Map.Entry<Long, Held> above = byOffset.higherEntry(offset);
            if (above != null && above.getKey() < offset + usable) {
                throw new Violation(EXIT_OVERLAP, "worker " + id + ": new block [" + offset + ", " + (offset + usable)
                        + ") overlaps block [" + above.getKey() + ", " + (above.getKey() + above.getValue().usable())
                        + ") this process still holds");
            }
            Held block = new Held(offset, size, usable, BlockPattern.base(id, ++seq));
            BlockPattern.write(heap, offset, size, usable, block.base());
            held.add(block);
            byOffset.put(offset, block);
            heldBytes += usable;
            maxHeldBytes = Math.max(maxHeldBytes, heldBytes);
        }

        private void check(Held block) {
            String problem = BlockPattern.check(heap, block.offset(), block.size(), block.usable(), block.base());
            if (problem != null) {
                throw new Violation(EXIT_OVERWRITTEN, "worker " + id + ": block at offset " + block.offset() + " (size " + block.size()
                        + ", usable " + block.usable() + ") was overwritten while this process held it: " + problem);
            }
        }

        private void freeAt(int index) {
            Held block = held.get(index);
            check(block);
            try {
                heap.free(block.offset());
            } catch (RuntimeException e) {
                throw new Violation(EXIT_FREE_REJECTED, "worker " + id + ": free(" + block.offset() + ") of a block this process holds"
                        + " (size " + block.size() + ", " + BlockPattern.describe(block.base()) + ") failed: " + e);
            }
            frees++;
            Held last = held.remove(held.size() - 1);
            if (index < held.size()) {
                held.set(index, last);
            }
            byOffset.remove(block.offset());
            heldBytes -= block.usable();
            if (sabotage) {
                ghosts.addLast(block);
                if (ghosts.size() > 64) {
                    ghosts.removeFirst();
                }
            }
        }

        void checkAll() {
            for (Held block : held) {
                check(block);
            }
        }

        void freeAll() {
            while (!held.isEmpty()) {
                freeAt(held.size() - 1);
            }
        }
    }

    // ---- race ----

    private static void race(String[] args) throws IOException {
        if (args.length != 7) {
            throw new Violation(EXIT_BAD_ARGS, "usage: race DIR ID CAPACITY CONTROL ROUNDS BLOCKS, got " + List.of(args));
        }
        Path dir = Path.of(args[1]);
        int id = Integer.parseInt(args[2]);
        long capacity = Long.parseLong(args[3]);
        Path control = Path.of(args[4]);
        int rounds = Integer.parseInt(args[5]);
        int blocks = Integer.parseInt(args[6]);

        warmUp(control.resolve("warm-" + id + ".heap"));
        long[] sizes = {64, 200, 4096, 5000, 70_000};
        for (int r = 0; r < rounds; r++) {
            Files.createFile(control.resolve("ready-" + r + "-" + id));
            awaitFile(control.resolve("go-" + r));
            try (ShmHeap heap = ShmHeap.openOrCreate(dir.resolve("race-" + r + ".heap"), capacity)) {
                StringBuilder out = new StringBuilder();
                out.append("capacity.").append(r).append('=').append(heap.capacity()).append('\n');
                for (int k = 1; k <= blocks; k++) {
                    long size = sizes[(k - 1) % sizes.length];
                    long offset = heap.allocate(size);
                    long base = BlockPattern.base(id, k);
                    BlockPattern.write(heap, offset, size, size, base);
                    out.append("block.").append(r).append('=').append(offset).append(',').append(size).append(',').append(k).append('\n');
                }
                System.out.print(out);
            }
        }
        System.out.println("ops=" + rounds * blocks);
    }

    /** Loads the classes of create/open/allocate before the barrier, so that the race is tight. */
    private static void warmUp(Path path) throws IOException {
        try (ShmHeap heap = ShmHeap.openOrCreate(path, 1 << 20)) {
            heap.free(heap.allocate(100));
            heap.free(heap.allocate(10_000));
        } finally {
            Files.deleteIfExists(path);
        }
    }

    private static void awaitFile(Path file) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(BARRIER_TIMEOUT_MILLIS);
        while (!Files.exists(file)) {
            if (System.nanoTime() - deadline > 0) {
                throw new Violation(EXIT_BARRIER_TIMEOUT, "no " + file + " after " + BARRIER_TIMEOUT_MILLIS + " ms");
            }
            LockSupport.parkNanos(100_000);
        }
    }
}
