package dev.shmheap.cli;

import dev.shmheap.HeapStats;
import dev.shmheap.Holdings;
import dev.shmheap.ProcessHoldings;
import dev.shmheap.SizeClassStats;

import java.util.Locale;

/**
 * {@code stats --format prometheus}: the figures of one heap in the Prometheus text exposition
 * format (version 0.0.4), as the node exporter's textfile collector reads it. Every sample
 * carries a {@code heap} label with the file, so that several heaps can share one directory.
 *
 * <p>Each family is written as {@code # HELP}, {@code # TYPE}, then its samples; counters end
 * in {@code _total}. Held bytes and blocks are given per process-table slot with {@code pid} and
 * {@code alive} labels: a new process starts a new series, which is what an operator needs to
 * see who holds the heap (and a dead process's series ends when its blocks are reclaimed).
 */
final class PrometheusReport {
    private final StringBuilder out = new StringBuilder();
    private final String heapLabel;
    /** The family whose samples are being written. */
    private String current;

    private PrometheusReport(String file) {
        this.heapLabel = "heap=\"" + escape(file) + "\"";
    }

    static String of(HeapSnapshot snapshot) {
        HeapStats s = snapshot.stats();
        PrometheusReport r = new PrometheusReport(snapshot.file().toString());
        r.family("shmheap_capacity_bytes", "gauge", "Bytes of the heap's data region: slab capacity plus buddy total.")
                .sample("", s.totalBytes());
        r.family("shmheap_used_bytes", "gauge", "Bytes in use: used slab blocks times their size plus buddy blocks handed out.")
                .sample("", s.usedBytes());
        r.family("shmheap_available_bytes", "gauge", "Capacity minus used bytes.").sample("", s.availableBytes());
        r.family("shmheap_buddy_free_bytes", "gauge", "Bytes in free buddy blocks, not in slab sets.").sample("", s.buddyFreeBytes());
        r.family("shmheap_largest_free_block_bytes", "gauge", "Size of the largest free buddy block.").sample("", s.largestFreeBlock());
        r.family("shmheap_class_used_blocks", "gauge", "Used blocks of a slab size class.");
        for (SizeClassStats c : s.sizeClasses()) {
            r.sample(classLabel(c), c.usedBlocks());
        }
        r.family("shmheap_class_total_blocks", "gauge", "Blocks in the slab sets a size class holds.");
        for (SizeClassStats c : s.sizeClasses()) {
            r.sample(classLabel(c), c.totalBlocks());
        }
        r.family("shmheap_class_allocations_total", "counter", "Blocks of a size class allocated since the heap was created.");
        for (SizeClassStats c : s.sizeClasses()) {
            r.sample(classLabel(c), c.allocations());
        }
        r.family("shmheap_class_frees_total", "counter", "Blocks of a size class freed since the heap was created.");
        for (SizeClassStats c : s.sizeClasses()) {
            r.sample(classLabel(c), c.frees());
        }
        r.family("shmheap_buddy_allocations_total", "counter", "Buddy blocks handed out since creation, user blocks and slab sets alike.")
                .sample("", s.buddyAllocations());
        r.family("shmheap_buddy_frees_total", "counter", "Buddy blocks freed since creation, user blocks and slab sets alike.")
                .sample("", s.buddyFrees());
        r.family("shmheap_free_blocks", "gauge", "Free buddy blocks of one order; block_size is 4096 << order.");
        long[] free = s.freeBlocksPerOrder();
        for (int order = 0; order < free.length; order++) {
            r.sample("order=\"" + order + "\",block_size=\"" + (StatsReport.PAGE << order) + "\"", free[order]);
        }
        // the process table is counted; what each process holds is listed per pid further down
        long dead = snapshot.processes().stream().filter(p -> !p.alive()).count();
        r.family("shmheap_attached_processes", "gauge", "Processes registered in the heap's process table, alive or not.")
                .sample("", snapshot.processes().size());
        r.family("shmheap_dead_processes", "gauge", "Registered processes that no longer run (they did not close the heap).")
                .sample("", dead);
        r.family("shmheap_lock_takeovers_total", "counter", "Locks taken over from dead holders since the heap was created.")
                .sample("", s.lockTakeovers());
        r.family("shmheap_reclaimed_blocks_total", "counter", "Blocks of dead processes freed since the heap was created.")
                .sample("", s.reclaimedBlocks());
        r.family("shmheap_reclaimed_bytes_total", "counter", "Bytes of the blocks of dead processes freed since the heap was created.")
                .sample("", s.reclaimedBytes());
        Holdings h = s.holdings();
        r.family("shmheap_process_held_bytes", "gauge", "Bytes of the live blocks a process holds (allocated or taken over, not freed, "
                + "shared or handed off); alive=\"false\" ones are kept until reclaimed.");
        for (ProcessHoldings p : h.processes()) {
            r.sample(processLabels(p), p.bytes());
        }
        r.family("shmheap_process_held_blocks", "gauge", "Live blocks a process holds.");
        for (ProcessHoldings p : h.processes()) {
            r.sample(processLabels(p), p.blocks());
        }
        r.family("shmheap_dead_held_bytes", "gauge", "Bytes held by processes that no longer run, kept until reclaimed.")
                .sample("", h.deadBytes());
        r.family("shmheap_shared_bytes", "gauge", "Bytes of live blocks given to the heap (share, bind, close): no process holds them.")
                .sample("", h.sharedBytes());
        r.family("shmheap_shared_blocks", "gauge", "Live blocks given to the heap.").sample("", h.sharedBlocks());
        r.family("shmheap_handed_off_bytes", "gauge", "Bytes of live blocks handed off and not yet taken over.")
                .sample("", h.handedOffBytes());
        r.family("shmheap_handed_off_blocks", "gauge", "Live blocks handed off and not yet taken over.").sample("", h.handedOffBlocks());
        r.family("shmheap_process_quota_bytes", "gauge", "Most bytes one process may hold; 0 when there is no quota.")
                .sample("", s.processQuota());
        r.family("shmheap_reclaims_dead", "gauge", "1 when the heap was created with --reclaim-dead (blocks of dead processes are freed "
                + "at open, by recover and before a heap-full error), 0 when they are kept until reclaimed.")
                .sample("", snapshot.reclaimsDead() ? 1 : 0);
        return r.out.toString();
    }

    private static String processLabels(ProcessHoldings p) {
        return "slot=\"" + p.slot() + "\",pid=\"" + p.pid() + "\",alive=\"" + p.alive() + "\"";
    }

    private static String classLabel(SizeClassStats c) {
        return "block_size=\"" + c.blockSize() + "\"";
    }

    private PrometheusReport family(String name, String type, String help) {
        current = name;
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        return this;
    }

    private PrometheusReport sample(String labels, long value) {
        out.append(current).append('{').append(heapLabel);
        if (!labels.isEmpty()) {
            out.append(',').append(labels);
        }
        out.append("} ").append(String.format(Locale.ROOT, "%d", value)).append('\n');
        return this;
    }

    /** Label values escape backslash, double quote and line feed (the exposition format's rule). */
    static String escape(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
