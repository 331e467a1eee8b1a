package dev.shmheap.cli;

import dev.shmheap.AttachedProcess;
import dev.shmheap.HeapStats;
import dev.shmheap.Holdings;
import dev.shmheap.ProcessHoldings;
import dev.shmheap.SizeClassStats;

import java.io.PrintWriter;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;

/**
 * The two forms of {@code shm-heap stats}: an aligned table for people and a JSON document
 * for programs. The JSON schema is documented in the CLI's README section; {@link #SCHEMA}
 * changes only when a field is removed or changes meaning (new fields may appear at any time).
 */
final class StatsReport {
    /** Version of the JSON document's layout. */
    static final int SCHEMA = 1;
    /** Bytes of the smallest buddy block: index i of the per-order counts is {@code PAGE << i}. */
    static final long PAGE = 4096;

    private StatsReport() {
    }

    static void printTable(HeapSnapshot snapshot, PrintWriter out) {
        HeapStats s = snapshot.stats();
        out.println("heap " + snapshot.file() + " (file of " + snapshot.fileLength() + " bytes, " + Sizes.human(snapshot.fileLength())
                + ") at " + Instant.ofEpochMilli(snapshot.takenMillis()).truncatedTo(ChronoUnit.SECONDS));
        out.println();
        Table summary = Table.withoutHeader(3).left(0, 2);
        summary.row("capacity", s.totalBytes(), Sizes.human(s.totalBytes()));
        summary.row("used", s.usedBytes(), Sizes.human(s.usedBytes()) + ", " + Sizes.percent(s.usedBytes(), s.totalBytes()));
        summary.row("available", s.availableBytes(), Sizes.human(s.availableBytes()));
        summary.row("cached", s.cachedBytes(), Sizes.human(s.cachedBytes()) + ", freed blocks kept by their processes' buddy caches");
        summary.row("buddy used", s.buddyUsedBytes(), Sizes.human(s.buddyUsedBytes()) + ", blocks handed out directly");
        summary.row("buddy free", s.buddyFreeBytes(), Sizes.human(s.buddyFreeBytes()) + ", not in slab sets");
        summary.row("largest free", s.largestFreeBlock(), Sizes.human(s.largestFreeBlock()));
        summary.row("fragmentation", String.format(Locale.ROOT, "%.4f", s.fragmentation()), "1 - largest free / buddy free");
        summary.row("buddy blocks", s.buddyAllocations(), "allocated since creation (user blocks and slab sets)");
        summary.row("", s.buddyFrees(), "freed since creation");
        summary.row("lock takeovers", s.lockTakeovers(), "locks taken over from dead holders since creation");
        summary.row("reclaimed", s.reclaimedBlocks(), "blocks of dead processes freed since creation");
        summary.row("", s.reclaimedBytes(), "their bytes, " + Sizes.human(s.reclaimedBytes()));
        summary.row("process quota", s.processQuota() == 0 ? "none" : s.processQuota(),
                s.processQuota() == 0 ? "no limit on what one process holds" : Sizes.human(s.processQuota()) + " at most per process");
        summary.row("reclaim dead", snapshot.reclaimsDead() ? "yes" : "no", reclaimDeadMeaning(snapshot.reclaimsDead()));
        summary.print(out, "");

        out.println();
        out.println("size classes");
        Table classes = new Table("block", "sets", "used", "total", "used bytes", "total bytes", "use", "allocations", "frees");
        for (SizeClassStats c : s.sizeClasses()) {
            classes.row(c.blockSize(), c.sets(), c.usedBlocks(), c.totalBlocks(), c.usedBytes(), c.totalBytes(),
                    Sizes.percent(c.usedBlocks(), c.totalBlocks()), c.allocations(), c.frees());
        }
        classes.print(out, "  ");

        out.println();
        out.println("free buddy blocks per order");
        Table orders = new Table("order", "block size", "free blocks", "free bytes");
        long[] free = s.freeBlocksPerOrder();
        for (int order = 0; order < free.length; order++) {
            orders.row(order, Sizes.human(PAGE << order), free[order], free[order] * (PAGE << order));
        }
        orders.print(out, "  ");

        out.println();
        out.println("attached processes: " + snapshot.processes().size() + " (" + snapshot.aliveProcesses() + " alive)");
        if (!snapshot.processes().isEmpty()) {
            Table processes = new Table("pid", "alive", "start ticks", "attached (UTC)", "").left(1, 3, 4);
            for (AttachedProcess p : snapshot.processes()) {
                processes.row(p.pid(), p.alive() ? "yes" : "NO", p.startTicks(), Instant.ofEpochMilli(p.attachedMillis()).truncatedTo(ChronoUnit.SECONDS),
                        p.pid() == snapshot.selfPid() ? "this command" : "");
            }
            processes.print(out, "  ");
        }

        out.println();
        printHoldings(s.holdings(), snapshot.reclaimsDead(), out);
    }

    /** What happens to the blocks of dead processes, by whether the heap was created with --reclaim-dead. */
    static String reclaimDeadMeaning(boolean reclaimsDead) {
        return reclaimsDead
                ? "created with --reclaim-dead: blocks of dead processes are freed at open, by recover and before a heap-full error"
                : "created without --reclaim-dead: blocks of dead processes are kept until 'shm-heap reclaim'";
    }

    /** Who holds the used bytes: per process slot, then shared, handed off and unattributed. */
    static void printHoldings(Holdings h, boolean reclaimsDead, PrintWriter out) {
        out.println("holders of live blocks");
        if (!h.processes().isEmpty()) {
            Table processes = new Table("slot", "pid", "alive", "blocks", "bytes", "").left(2, 5);
            for (ProcessHoldings p : h.processes()) {
                processes.row(p.slot(), p.pid(), p.alive() ? "yes" : "NO", p.blocks(), p.bytes(), Sizes.human(p.bytes()));
            }
            processes.print(out, "  ");
        }
        Table totals = Table.withoutHeader(4).left(0, 3);
        totals.row("shared", h.sharedBlocks() + " blocks", h.sharedBytes() + " bytes", Sizes.human(h.sharedBytes())
                + ", given to the heap (share, bind, close): no process holds them");
        totals.row("handed off", h.handedOffBlocks() + " blocks", h.handedOffBytes() + " bytes", Sizes.human(h.handedOffBytes())
                + ", waiting for takeOver");
        if (h.unattributedBlocks() != 0) {
            totals.row("unattributed", h.unattributedBlocks() + " blocks", h.unattributedBytes() + " bytes", Sizes.human(h.unattributedBytes())
                    + ", with no holder (verify reports them)");
        }
        totals.print(out, "  ");
        List<ProcessHoldings> dead = h.dead();
        if (!dead.isEmpty()) {
            out.println("  " + dead.size() + " dead process(es) hold " + dead.stream().mapToLong(ProcessHoldings::blocks).sum() + " blocks, "
                    + h.deadBytes() + " bytes (" + Sizes.human(h.deadBytes()) + "); " + Remedies.reclaim(reclaimsDead));
        }
    }

    /** The holdings as a JSON object (used by stats; the same layout as docs/CLI.md describes). */
    static void holdingsJson(JsonWriter json, Holdings h) {
        json.beginObject();
        json.name("processes").beginArray();
        for (ProcessHoldings p : h.processes()) {
            processHoldingsJson(json, p);
        }
        json.endArray();
        json.field("sharedBlocks", h.sharedBlocks())
                .field("sharedBytes", h.sharedBytes())
                .field("handedOffBlocks", h.handedOffBlocks())
                .field("handedOffBytes", h.handedOffBytes())
                .field("unattributedBlocks", h.unattributedBlocks())
                .field("unattributedBytes", h.unattributedBytes())
                .field("deadBlocks", h.dead().stream().mapToLong(ProcessHoldings::blocks).sum())
                .field("deadBytes", h.deadBytes());
        json.endObject();
    }

    static void processHoldingsJson(JsonWriter json, ProcessHoldings p) {
        json.beginInlineObject()
                .field("slot", p.slot())
                .field("pid", p.pid())
                .field("startTicks", p.startTicks())
                .field("alive", p.alive())
                .field("blocks", p.blocks())
                .field("bytes", p.bytes())
                .endObject();
    }

    static String json(HeapSnapshot snapshot) {
        HeapStats s = snapshot.stats();
        JsonWriter json = new JsonWriter().beginObject()
                .field("schema", SCHEMA)
                .field("file", snapshot.file().toString())
                .field("fileLength", snapshot.fileLength())
                .field("takenMillis", snapshot.takenMillis())
                .field("totalBytes", s.totalBytes())
                .field("usedBytes", s.usedBytes())
                .field("availableBytes", s.availableBytes())
                .field("fragmentation", s.fragmentation());
        json.name("buddy").beginObject()
                .field("freeBytes", s.buddyFreeBytes())
                .field("usedBytes", s.buddyUsedBytes())
                .field("cachedBytes", s.cachedBytes())
                .field("largestFreeBlock", s.largestFreeBlock())
                .field("allocations", s.buddyAllocations())
                .field("frees", s.buddyFrees());
        json.name("freeBlocksPerOrder").beginArray();
        long[] free = s.freeBlocksPerOrder();
        for (int order = 0; order < free.length; order++) {
            json.beginInlineObject().field("order", order).field("blockSize", PAGE << order).field("freeBlocks", free[order]).endObject();
        }
        json.endArray().endObject();
        json.name("sizeClasses").beginArray();
        for (SizeClassStats c : s.sizeClasses()) {
            json.beginInlineObject()
                    .field("blockSize", c.blockSize())
                    .field("sets", c.sets())
                    .field("totalBlocks", c.totalBlocks())
                    .field("usedBlocks", c.usedBlocks())
                    .field("totalBytes", c.totalBytes())
                    .field("usedBytes", c.usedBytes())
                    .field("allocations", c.allocations())
                    .field("frees", c.frees())
                    .endObject();
        }
        json.endArray();
        json.name("attachedProcesses").beginArray();
        for (AttachedProcess p : snapshot.processes()) {
            json.beginInlineObject()
                    .field("pid", p.pid())
                    .field("startTicks", p.startTicks())
                    .field("attachedMillis", p.attachedMillis())
                    .field("alive", p.alive())
                    .field("self", p.pid() == snapshot.selfPid())
                    .endObject();
        }
        json.endArray();
        json.field("lockTakeovers", s.lockTakeovers())
                .field("reclaimedBlocks", s.reclaimedBlocks())
                .field("reclaimedBytes", s.reclaimedBytes())
                .field("processQuota", s.processQuota())
                .field("reclaimsDead", snapshot.reclaimsDead());
        json.name("holdings");
        holdingsJson(json, s.holdings());
        return json.endObject().toString();
    }
}
