package dev.shmheap.cli;

import dev.shmheap.ProcessHoldings;
import dev.shmheap.SizeClassStats;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * {@code stats --format prometheus} and {@code serve}'s {@code /metrics}: the figures of heaps in
 * the Prometheus text exposition format (version 0.0.4), as the node exporter's textfile
 * collector and a Prometheus scrape read it. Every sample carries a {@code heap} label with the
 * file, so that several heaps can share one directory or one endpoint.
 *
 * <p>Each family is written as {@code # HELP}, {@code # TYPE}, then its samples; counters end
 * in {@code _total}. Held bytes and blocks are given per process-table slot with {@code pid} and
 * {@code alive} labels: a new process starts a new series, which is what an operator needs to
 * see who holds the heap (and a dead process's series ends when its blocks are reclaimed).
 */
final class PrometheusReport {
    private final StringBuilder out = new StringBuilder();
    /** The {@code heap} label of the samples being written. */
    private String heapLabel;
    /** The family whose samples are being written. */
    private String current;

    static String of(HeapSnapshot snapshot) {
        return new PrometheusReport().heaps(List.of(snapshot)).toString();
    }

    /**
     * Writes every family of {@code stats --format prometheus} once, with the samples of each
     * snapshot under its own {@code heap} label (the exposition format wants a family's samples
     * together, so several heaps cannot be concatenated reports).
     */
    PrometheusReport heaps(List<HeapSnapshot> snapshots) {
        each(snapshots, "shmheap_capacity_bytes", "gauge", "Bytes of the heap's data region: slab capacity plus buddy total.",
                s -> sample("", s.stats().totalBytes()));
        each(snapshots, "shmheap_used_bytes", "gauge", "Bytes in use: used slab blocks times their size plus buddy blocks handed out.",
                s -> sample("", s.stats().usedBytes()));
        each(snapshots, "shmheap_available_bytes", "gauge", "Capacity minus used bytes.", s -> sample("", s.stats().availableBytes()));
        each(snapshots, "shmheap_buddy_free_bytes", "gauge", "Bytes in free buddy blocks, not in slab sets.",
                s -> sample("", s.stats().buddyFreeBytes()));
        each(snapshots, "shmheap_largest_free_block_bytes", "gauge", "Size of the largest free buddy block.",
                s -> sample("", s.stats().largestFreeBlock()));
        each(snapshots, "shmheap_class_used_blocks", "gauge", "Used blocks of a slab size class.",
                s -> s.stats().sizeClasses().forEach(c -> sample(classLabel(c), c.usedBlocks())));
        each(snapshots, "shmheap_class_total_blocks", "gauge", "Blocks in the slab sets a size class holds.",
                s -> s.stats().sizeClasses().forEach(c -> sample(classLabel(c), c.totalBlocks())));
        each(snapshots, "shmheap_class_allocations_total", "counter", "Blocks of a size class allocated since the heap was created.",
                s -> s.stats().sizeClasses().forEach(c -> sample(classLabel(c), c.allocations())));
        each(snapshots, "shmheap_class_frees_total", "counter", "Blocks of a size class freed since the heap was created.",
                s -> s.stats().sizeClasses().forEach(c -> sample(classLabel(c), c.frees())));
        each(snapshots, "shmheap_buddy_allocations_total", "counter", "Buddy blocks handed out since creation, user blocks and slab sets alike.",
                s -> sample("", s.stats().buddyAllocations()));
        each(snapshots, "shmheap_buddy_frees_total", "counter", "Buddy blocks freed since creation, user blocks and slab sets alike.",
                s -> sample("", s.stats().buddyFrees()));
        each(snapshots, "shmheap_free_blocks", "gauge", "Free buddy blocks of one order; block_size is 4096 << order.", s -> {
            long[] free = s.stats().freeBlocksPerOrder();
            for (int order = 0; order < free.length; order++) {
                sample("order=\"" + order + "\",block_size=\"" + (StatsReport.PAGE << order) + "\"", free[order]);
            }
        });
        // the process table is counted; what each process holds is listed per pid further down
        each(snapshots, "shmheap_attached_processes", "gauge", "Processes registered in the heap's process table, alive or not.",
                s -> sample("", s.processes().size()));
        each(snapshots, "shmheap_dead_processes", "gauge", "Registered processes that no longer run (they did not close the heap).",
                s -> sample("", s.processes().size() - s.aliveProcesses()));
        each(snapshots, "shmheap_lock_takeovers_total", "counter", "Locks taken over from dead holders since the heap was created.",
                s -> sample("", s.stats().lockTakeovers()));
        each(snapshots, "shmheap_reclaimed_blocks_total", "counter", "Blocks of dead processes freed since the heap was created.",
                s -> sample("", s.stats().reclaimedBlocks()));
        each(snapshots, "shmheap_reclaimed_bytes_total", "counter", "Bytes of the blocks of dead processes freed since the heap was created.",
                s -> sample("", s.stats().reclaimedBytes()));
        each(snapshots, "shmheap_process_held_bytes", "gauge", "Bytes of the live blocks a process holds (allocated or taken over, not freed, "
                + "shared or handed off); alive=\"false\" ones are kept until reclaimed.",
                s -> s.stats().holdings().processes().forEach(p -> sample(processLabels(p), p.bytes())));
        each(snapshots, "shmheap_process_held_blocks", "gauge", "Live blocks a process holds.",
                s -> s.stats().holdings().processes().forEach(p -> sample(processLabels(p), p.blocks())));
        each(snapshots, "shmheap_dead_held_bytes", "gauge", "Bytes held by processes that no longer run, kept until reclaimed.",
                s -> sample("", s.stats().holdings().deadBytes()));
        each(snapshots, "shmheap_shared_bytes", "gauge", "Bytes of live blocks given to the heap (share, bind, close): no process holds them.",
                s -> sample("", s.stats().holdings().sharedBytes()));
        each(snapshots, "shmheap_shared_blocks", "gauge", "Live blocks given to the heap.", s -> sample("", s.stats().holdings().sharedBlocks()));
        each(snapshots, "shmheap_handed_off_bytes", "gauge", "Bytes of live blocks handed off and not yet taken over.",
                s -> sample("", s.stats().holdings().handedOffBytes()));
        each(snapshots, "shmheap_handed_off_blocks", "gauge", "Live blocks handed off and not yet taken over.",
                s -> sample("", s.stats().holdings().handedOffBlocks()));
        each(snapshots, "shmheap_process_quota_bytes", "gauge", "Most bytes one process may hold; 0 when there is no quota.",
                s -> sample("", s.stats().processQuota()));
        each(snapshots, "shmheap_reclaims_dead", "gauge", "1 when the heap was created with --reclaim-dead (blocks of dead processes are freed "
                + "at open, by recover and before a heap-full error), 0 when they are kept until reclaimed.",
                s -> sample("", s.reclaimsDead() ? 1 : 0));
        return this;
    }

    /** One family and, for each heap, the samples {@code samples} writes with that heap's label. */
    <T> PrometheusReport each(List<T> heaps, Function<T, Path> file, String name, String type, String help, Consumer<T> samples) {
        family(name, type, help);
        for (T heap : heaps) {
            heapLabel = "heap=\"" + escape(file.apply(heap).toString()) + "\"";
            samples.accept(heap);
        }
        return this;
    }

    private void each(List<HeapSnapshot> snapshots, String name, String type, String help, Consumer<HeapSnapshot> samples) {
        each(snapshots, HeapSnapshot::file, name, type, help, samples);
    }

    @Override
    public String toString() {
        return out.toString();
    }

    private static String processLabels(ProcessHoldings p) {
        return "slot=\"" + p.slot() + "\",pid=\"" + p.pid() + "\",alive=\"" + p.alive() + "\"";
    }

    private static String classLabel(SizeClassStats c) {
        return "block_size=\"" + c.blockSize() + "\"";
    }

    private void family(String name, String type, String help) {
        current = name;
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    /** A sample of the current family for the current heap; {@code labels} are the ones after {@code heap}, or empty. */
    PrometheusReport sample(String labels, long value) {
        out.append(current).append('{').append(heapLabel);
        if (!labels.isEmpty()) {
            out.append(',').append(labels);
        }
        out.append("} ").append(value).append('\n'); // Long.toString: no locale, no grouping
        return this;
    }

    /** Label values escape backslash, double quote and line feed (the exposition format's rule). */
    static String escape(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
