package dev.shmheap.stress.chaos;

import dev.shmheap.BlockInfo;
import dev.shmheap.HeapStats;
import dev.shmheap.RecoveryReport;
import dev.shmheap.ShmHeap;
import dev.shmheap.VerifyReport;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import static dev.shmheap.stress.chaos.ControlBlock.ENTRY_BLOCK_OFFSET;
import static dev.shmheap.stress.chaos.ControlBlock.ENTRY_META_OFFSET;
import static dev.shmheap.stress.chaos.ControlBlock.HELD_BYTES_OFFSET;
import static dev.shmheap.stress.chaos.ControlBlock.LAST_OP_NANOS_OFFSET;
import static dev.shmheap.stress.chaos.ControlBlock.LEDGER_ENTRIES;
import static dev.shmheap.stress.chaos.ControlBlock.OPS_OFFSET;
import static dev.shmheap.stress.chaos.ControlBlock.PENDING_BYTES_OFFSET;
import static dev.shmheap.stress.chaos.ControlBlock.WORKER_ID_OFFSET;

/**
 * Where every byte went: reads what each gone worker left in its slot (operations, held bytes,
 * pending word, ledger), has the {@link Reclamation} of the run give its blocks back or not,
 * and at the end recovers and verifies the heap and compares the used bytes left with what the
 * slots explain. It also counts the failures of workers and of the coordinator's checks.
 *
 * <p>The equation it checks, per dead worker and summed:
 * {@code leak = held - reclaimed (+ the block in flight, if any)}, as a range because a kill
 * during an allocate or free leaves it open whether the heap had already handed the block out
 * or taken it back ({@link Reclamation#leakRange}). After every worker is gone and the control
 * block is freed, {@code stats().usedBytes()} is the leak, and must lie in the summed range;
 * every used buddy block left must have the size of a block some dead worker left listed or
 * had in flight.
 */
final class BlockAccounting implements Reclamation.Problems {
    /** The byte figures of the summary line; {@code unaccounted} is the used bytes left at the end. */
    record Bytes(long reclaimed, long deadHeld, long killsInFlight, long unaccounted, long explainedLow, long explainedHigh,
                 boolean buddyLeakMatches) {
    }

    /** The heap's end state after the final recovery. */
    record End(RecoveryReport recovery, VerifyReport verify, Bytes bytes) {
    }

    /** Lines of a failed worker's stderr quoted in the report: its exception and stack trace. */
    private static final int STDERR_TAIL_LINES = 20;

    private final ShmHeap heap;
    private final long control;
    private final Reclamation reclamation;
    private final List<String> failures = new ArrayList<>();
    private long ops;
    private long patternViolations;
    private long workerFailures;
    private long reclaimedBytes;
    private long deadHeldBytes;
    private long explainedLow;
    private long explainedHigh;
    private long killsInFlight;
    private long killsFreeing;
    /** Usable sizes of the blocks dead workers were allocating or freeing, and how many of each. */
    private final Map<Long, Integer> inFlight = new TreeMap<>();
    /** Usable sizes of the listed blocks of dead workers that were not reclaimed, and how many of each. */
    private final Map<Long, Integer> leftListed = new TreeMap<>();

    /** {@code afterHeapCall} runs after each heap call the reclamation makes (to note the coordinator's own takeovers). */
    BlockAccounting(ShmHeap heap, long control, ChaosConfig.Reclaim mode, Runnable afterHeapCall) {
        this.heap = heap;
        this.control = control;
        this.reclamation = Reclamation.of(mode, heap, this, afterHeapCall);
    }

    @Override
    public void patternViolation(String message) {
        patternViolations++;
        failures.add(message);
    }

    @Override
    public void workerFailure(String message) {
        workerFailures++;
        failures.add(message);
    }

    /** A failure of the run itself, not of a worker: listed, not counted. */
    void note(String message) {
        failures.add(message);
    }

    long failedWorkers() {
        return workerFailures + patternViolations;
    }

    long ops() {
        return ops;
    }

    long patternViolations() {
        return patternViolations;
    }

    long workerFailures() {
        return workerFailures;
    }

    /** A worker that exited without being killed: a pattern violation (exit code 4) or a failure, with the tail of its stderr. */
    void exitedOnItsOwn(WorkerJvms.Worker w) {
        int code = w.process().exitValue();
        List<String> lines = RecoveryTimes.lines(w.err());
        String tail = String.join("\n", lines.subList(Math.max(0, lines.size() - STDERR_TAIL_LINES), lines.size()));
        if (code == ChaosWorker.EXIT_PATTERN) {
            patternViolation("worker " + w.id() + " (pid " + w.pid() + ") found a broken pattern:\n" + tail);
        } else {
            workerFailure("worker " + w.id() + " (pid " + w.pid() + ") exited with " + code + ":\n" + tail);
        }
    }

    /**
     * Accounts for a worker that has exited ({@code kill} null unless the coordinator killed it):
     * reads its slot, offers each block of its ledger to the reclamation, clears the slot.
     */
    void reap(WorkerJvms.Worker w, WorkerJvms.Kill kill, List<String> details) {
        long slot = ControlBlock.slot(control, LEDGER_ENTRIES, w.slot());
        long workerOps = heap.getLongVolatile(slot + OPS_OFFSET);
        long held = heap.getLongVolatile(slot + HELD_BYTES_OFFSET);
        long pending = heap.getLongVolatile(slot + PENDING_BYTES_OFFSET);
        long reclaimed = 0;
        int blocks = 0;
        for (int e = 0; e < LEDGER_ENTRIES; e++) {
            long entry = ControlBlock.entry(slot, e);
            long offset = heap.getLongVolatile(entry + ENTRY_BLOCK_OFFSET);
            long meta = heap.getLongVolatile(entry + ENTRY_META_OFFSET);
            heap.putLong(entry + ENTRY_BLOCK_OFFSET, 0);
            heap.putLong(entry + ENTRY_META_OFFSET, 0);
            if (offset == 0) {
                continue;
            }
            blocks++;
            if (reclamation.leavesBlocksToTheHeap()) {
                continue;
            }
            long usable;
            try {
                usable = heap.usableSize(offset);
            } catch (RuntimeException ex) {
                workerFailure("reclaim: ledger of worker " + w.id() + " lists offset " + offset + ", which is not a live block: " + ex.getMessage());
                continue;
            }
            if (reclamation.reclaim(w.id(), offset, meta, usable)) {
                reclaimed += usable;
            } else {
                leftListed.merge(usable, 1, Integer::sum);
            }
        }
        ops += workerOps;
        boolean dead = kill != null || w.process().exitValue() != 0;
        if (dead) {
            deadHeldBytes += held;
            reclaimedBytes += reclaimed;
            long[] range = reclamation.leakRange(held, reclaimed, pending);
            explainedLow += range[0];
            explainedHigh += range[1];
            if (pending != 0) {
                killsInFlight++;
                inFlight.merge(Math.abs(pending), 1, Integer::sum);
                if (pending < 0) {
                    killsFreeing++;
                }
            }
        } else if (held != 0 || blocks != 0) {
            workerFailure("worker " + w.id() + " exited cleanly but its slot still says held=" + held + " with " + blocks + " ledger blocks");
        }
        if (kill != null) {
            details.add(String.format(Locale.ROOT, "chaos: kill worker=%d pid=%d reaped after %.1f ms: ops=%d held=%d pending=%d"
                    + " reclaimed=%d of %d blocks", w.id(), w.pid(), (kill.reapedNanos() - kill.atNanos()) / 1e6, workerOps, held, pending,
                    reclaimed, blocks));
        }
        for (int off : new int[] {OPS_OFFSET, HELD_BYTES_OFFSET, PENDING_BYTES_OFFSET, LAST_OP_NANOS_OFFSET, WORKER_ID_OFFSET}) {
            heap.putLongRelease(slot + off, 0);
        }
    }

    /**
     * With every worker gone: frees the control block, recovers and verifies the heap, and
     * compares what is left with what the slots explained. Adds the reports to {@code details}.
     */
    End finish(List<String> details) {
        heap.unbind(ControlBlock.NAME);
        heap.free(control);
        RecoveryReport recovery = heap.recover();
        VerifyReport verify = heap.verify();
        HeapStats stats = heap.stats();
        details.add("chaos: " + recovery);
        details.add("chaos: verify " + verify.toString().replace("\n", "\nchaos:   "));
        details.add("chaos: " + stats);
        Map<Long, Integer> usedBuddy = new TreeMap<>();
        heap.forEachBlock(b -> {
            if (b.kind() == BlockInfo.Kind.USED) {
                usedBuddy.merge(b.length(), 1, Integer::sum);
            }
        });
        boolean buddyLeakMatches = usedBuddy.entrySet().stream()
                .allMatch(e -> e.getValue() <= inFlight.getOrDefault(e.getKey(), 0) + leftListed.getOrDefault(e.getKey(), 0));
        details.add("chaos: used buddy blocks left, by size: " + usedBuddy + "; blocks dead workers were allocating or freeing, by"
                + " usable size: " + inFlight + "; listed blocks not reclaimed: " + leftListed
                + (buddyLeakMatches ? "" : " (MORE blocks of some size left than that)") + "; kills in flight: " + killsInFlight
                + ", of them freeing: " + killsFreeing);
        if (verify.usedBytes() != stats.usedBytes()) {
            details.add("chaos: note: verify recounted " + verify.usedBytes() + " used bytes, stats say " + stats.usedBytes());
        }
        failures.forEach(f -> details.add("chaos: FAILURE " + f));
        return new End(recovery, verify, new Bytes(reclaimedBytes + reclamation.reclaimedByTheHeap(stats), deadHeldBytes, killsInFlight,
                stats.usedBytes(), explainedLow, explainedHigh, buddyLeakMatches));
    }
}
