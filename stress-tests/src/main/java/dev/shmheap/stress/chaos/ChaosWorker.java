package dev.shmheap.stress.chaos;

import dev.shmheap.HeapFullException;
import dev.shmheap.ShmHeap;
import dev.shmheap.testkit.BlockPattern;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static dev.shmheap.stress.chaos.ControlBlock.*;

/**
 * A worker JVM of the chaos run: {@code ChaosWorker HEAP SLOT ID SEED HELD_LIMIT [warm-native]}.
 *
 * <p>Opens the heap, finds the {@link ControlBlock}, and until the coordinator sets its stop
 * word allocates and frees blocks of 1 B..1 MiB (every slab class, buddy blocks up to 1 MiB,
 * alignments up to 4096) with a seeded {@link Random}. Each block gets the {@link BlockPattern}
 * of (ID, sequence), checked before the block is freed and every 4096 operations for all
 * blocks held. After each operation the worker publishes, in its slot: ops, held bytes, the
 * pending word and the time, and keeps its ledger of held blocks as {@link ControlBlock}
 * describes. On stop it checks and frees everything it holds, prints
 * {@code worker id=... ops=...} and exits 0.
 *
 * <p>It prints one {@code takeover victim=PID at=NANOS done=NANOS lock=NAME} line per lock it
 * took over from a dead process (see {@link Takeovers}), once the operation has completed.
 *
 * <p>Exit codes: 0 clean stop; 2 bad arguments; 3 a block overlaps one this worker holds, is
 * misaligned or too small; 4 a block's pattern was overwritten; 5 an unexpected exception;
 * 6 {@code free} rejected a block this worker holds. Each violation is printed on stderr with
 * the offset.
 */
public final class ChaosWorker {
    static final int EXIT_BAD_ARGS = 2;
    static final int EXIT_OVERLAP = 3;
    static final int EXIT_PATTERN = 4;
    static final int EXIT_UNEXPECTED = 5;
    static final int EXIT_FREE_REJECTED = 6;

    /** Optional last argument: initialise shm-heap's native calls before the loop. */
    static final String WARM_NATIVE = "warm-native";
    private static final int CHECK_ALL_EVERY = 4096;

    /** A violation found by this worker; ends it with {@link #code}. */
    static final class Violation extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int code;

        Violation(int code, String message) {
            super(message);
            this.code = code;
        }
    }

    private ChaosWorker() {
    }

    public static void main(String[] args) {
        int code;
        try {
            if (args.length != 5 && !(args.length == 6 && args[5].equals(WARM_NATIVE))) {
                throw new Violation(EXIT_BAD_ARGS, "usage: ChaosWorker HEAP SLOT ID SEED HELD_LIMIT [" + WARM_NATIVE + "], got "
                        + List.of(args));
            }
            if (args.length == 6) {
                // Diagnostic only, and the one use of a shm-heap internal: load JNA now, as the
                // first liveness check of a reaped lock owner would (see CHAOS.md).
                dev.shmheap.internal.memory.NativeIo.processExists((int) ProcessHandle.current().pid());
            }
            Takeovers.plainLibraryLog(true);
            try (ShmHeap heap = ShmHeap.open(Path.of(args[0]))) {
                Loop loop = new Loop(heap, Takeovers.listenTo(heap), Integer.parseInt(args[1]), Integer.parseInt(args[2]),
                        new Random(Long.parseLong(args[3])), Long.parseLong(args[4]));
                loop.run();
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

    /** The usable size a request gets when served the normal way: its slab class or buddy block. */
    static long expectedUsable(long size, long alignment) {
        long need = Math.max(64, Math.max(size, alignment));
        return Long.highestOneBit(need - 1) << 1;
    }

    /** A block this worker holds, at a fixed ledger entry. */
    private record Held(long offset, long size, long usable, long base, int entry) {
    }

    private static final class Loop {
        private final ShmHeap heap;
        private final Takeovers takeovers;
        private final int id;
        private final Random random;
        private final long heldLimit;
        private final long control;
        private final long slot;
        private final int entries;
        private final List<Held> held = new ArrayList<>();
        private final TreeMap<Long, Held> byOffset = new TreeMap<>();
        private final int[] freeEntries;
        private int freeEntryCount;
        private long heldBytes;
        private long seq;
        private long ops;
        private long allocations;
        private long frees;
        private long fullEvents;
        private long fallbacks;
        private long takeoverCount;

        Loop(ShmHeap heap, Takeovers takeovers, int slotIndex, int id, Random random, long heldLimit) {
            this.heap = heap;
            this.takeovers = takeovers;
            this.id = id;
            this.random = random;
            this.heldLimit = heldLimit;
            this.control = ControlBlock.find(heap);
            long slots = heap.getLongVolatile(control + SLOT_COUNT_OFFSET);
            this.entries = (int) heap.getLongVolatile(control + LEDGER_ENTRIES_OFFSET);
            if (slotIndex < 0 || slotIndex >= slots) {
                throw new Violation(EXIT_BAD_ARGS, "slot=" + slotIndex + " is not in 0.." + (slots - 1));
            }
            this.slot = ControlBlock.slot(control, entries, slotIndex);
            long owner = heap.getLongVolatile(slot + WORKER_ID_OFFSET);
            if (owner != id) {
                throw new Violation(EXIT_BAD_ARGS, "slot " + slotIndex + " belongs to worker " + owner + ", not " + id);
            }
            this.freeEntries = new int[entries];
            for (int i = entries - 1; i >= 0; i--) {
                freeEntries[freeEntryCount++] = i;
            }
        }

        void run() {
            while (heap.getLongVolatile(control + STOP_OFFSET) == 0) {
                for (int i = 0; i < 16; i++) {
                    step();
                }
            }
            checkAll();
            while (!held.isEmpty()) {
                freeAt(held.size() - 1);
            }
            System.out.println("worker id=" + id + " ops=" + ops + " allocations=" + allocations + " frees=" + frees + " full=" + fullEvents
                    + " fallbacks=" + fallbacks + " takeovers=" + takeoverCount);
        }

        private void step() {
            boolean allocate = held.isEmpty() || (heldBytes < heldLimit && freeEntryCount > 0 && random.nextInt(100) < 55);
            if (allocate) {
                allocateOne();
            } else {
                freeAt(random.nextInt(held.size()));
            }
            if (ops % CHECK_ALL_EVERY == 0) {
                checkAll();
            }
        }

        /** Every slab class about equally often, then buddy blocks up to 64 KiB and up to 1 MiB. */
        private long nextSize() {
            int bucket = random.nextInt(100);
            if (bucket < 60) {
                int shift = 6 + random.nextInt(7);
                long low = shift == 6 ? 1 : (1L << (shift - 1)) + 1;
                return low + random.nextInt((int) ((1L << shift) - low + 1));
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
            long expected = expectedUsable(size, alignment);
            heap.putLongRelease(slot + PENDING_BYTES_OFFSET, expected);
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
            long done = System.nanoTime();
            if (offset == ShmHeap.NO_SPACE) {
                heap.putLongRelease(slot + PENDING_BYTES_OFFSET, 0);
                reportTakeovers(done);
                fullEvents++;
                int n = Math.max(1, held.size() / 4);
                for (int i = 0; i < n && !held.isEmpty(); i++) {
                    freeAt(random.nextInt(held.size()));
                }
                if (held.isEmpty()) {
                    Thread.yield();
                }
                return;
            }
            long usable = heap.usableSize(offset);
            if (usable != expected) {
                // Served another way (a class short of sets gets one buddy page): say so at once.
                heap.putLongRelease(slot + PENDING_BYTES_OFFSET, usable);
                fallbacks++;
            }
            reportTakeovers(done);
            if (offset % alignment != 0) {
                throw new Violation(EXIT_OVERLAP, "worker " + id + ": allocate(" + size + ", " + alignment + ") returned offset " + offset
                        + ", not a multiple of the alignment");
            }
            if (usable < size) {
                throw new Violation(EXIT_OVERLAP, "worker " + id + ": block at offset " + offset + " has usable size " + usable
                        + " < requested " + size);
            }
            Map.Entry<Long, Held> below = byOffset.floorEntry(offset);
            Map.Entry<Long, Held> above = byOffset.higherEntry(offset);
            Held clash = below != null && below.getKey() + below.getValue().usable() > offset ? below.getValue()
                    : above != null && above.getKey() < offset + usable ? above.getValue() : null;
            if (clash != null) {
                throw new Violation(EXIT_OVERLAP, "worker " + id + ": new block [" + offset + ", " + (offset + usable) + ") overlaps block ["
                        + clash.offset() + ", " + (clash.offset() + clash.usable()) + ") this worker still holds");
            }
            long blockSeq = ++seq;
            Held block = new Held(offset, size, usable, BlockPattern.base(id, blockSeq), freeEntries[--freeEntryCount]);
            long entry = ControlBlock.entry(slot, block.entry());
            long meta = ControlBlock.meta(size, blockSeq);
            heap.putLongRelease(entry + ENTRY_META_OFFSET, meta | UNWRITTEN);
            heap.putLongRelease(entry + ENTRY_BLOCK_OFFSET, offset);
            BlockPattern.write(heap, offset, size, usable, block.base());
            heap.putLongRelease(entry + ENTRY_META_OFFSET, meta);
            held.add(block);
            byOffset.put(offset, block);
            heldBytes += usable;
            heap.putLongRelease(slot + HELD_BYTES_OFFSET, heldBytes);
            heap.putLongRelease(slot + PENDING_BYTES_OFFSET, 0);
            allocations++;
            completed(done);
        }

        private void freeAt(int index) {
            Held block = held.get(index);
            check(block);
            heap.putLongRelease(slot + PENDING_BYTES_OFFSET, -block.usable());
            heap.putLongRelease(ControlBlock.entry(slot, block.entry()) + ENTRY_BLOCK_OFFSET, 0);
            try {
                heap.free(block.offset());
            } catch (RuntimeException e) {
                throw new Violation(EXIT_FREE_REJECTED, "worker " + id + ": free(" + block.offset() + ") of a block this worker holds (size "
                        + block.size() + ", " + BlockPattern.describe(block.base()) + ") failed: " + e);
            }
            long done = System.nanoTime();
            reportTakeovers(done);
            Held last = held.remove(held.size() - 1);
            if (index < held.size()) {
                held.set(index, last);
            }
            byOffset.remove(block.offset());
            freeEntries[freeEntryCount++] = block.entry();
            heldBytes -= block.usable();
            heap.putLongRelease(slot + HELD_BYTES_OFFSET, heldBytes);
            heap.putLongRelease(slot + PENDING_BYTES_OFFSET, 0);
            frees++;
            completed(done);
        }

        private void completed(long done) {
            ops++;
            heap.putLongRelease(slot + OPS_OFFSET, ops);
            heap.putLongRelease(slot + LAST_OP_NANOS_OFFSET, done);
        }

        private void reportTakeovers(long done) {
            for (Takeovers.Event e : takeovers.drain()) {
                takeoverCount++;
                System.out.println(e.line(done));
            }
        }

        private void check(Held block) {
            String problem = BlockPattern.check(heap, block.offset(), block.size(), block.usable(), block.base());
            if (problem != null) {
                throw new Violation(EXIT_PATTERN, "worker " + id + ": block at offset " + block.offset() + " (size " + block.size()
                        + ", usable " + block.usable() + ") was overwritten while this worker held it: " + problem);
            }
        }

        private void checkAll() {
            for (Held block : held) {
                check(block);
            }
        }
    }
}
