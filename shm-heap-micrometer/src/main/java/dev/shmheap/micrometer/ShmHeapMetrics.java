package dev.shmheap.micrometer;

import dev.shmheap.HeapObserver;
import dev.shmheap.HeapStats;
import dev.shmheap.ShmHeap;
import dev.shmheap.SizeClassStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The figures of one shared heap as Micrometer meters, tagged {@code heap=<file>}: one line in
 * a service that reports through Micrometer,
 *
 * <pre>{@code
 * new ShmHeapMetrics(heap).bindTo(registry);
 * }</pre>
 *
 * <p>Names follow Micrometer's dotted convention and, with their base units, become the names
 * that {@code shm-heap stats --format prometheus} and {@code shm-heap serve} use when a
 * Prometheus registry renders them ({@code shmheap.used} in bytes is {@code shmheap_used_bytes},
 * the counter {@code shmheap.lock.takeovers} is {@code shmheap_lock_takeovers_total}), so that
 * one dashboard serves both:
 * <ul>
 *   <li>gauges (bytes): {@code shmheap.capacity}, {@code shmheap.used}, {@code shmheap.available},
 *       {@code shmheap.buddy.free}, {@code shmheap.largest.free.block}, {@code shmheap.dead.held},
 *       {@code shmheap.shared};</li>
 *   <li>gauges: {@code shmheap.attached.processes}, {@code shmheap.dead.processes}, and per size
 *       class ({@code block.size} tag) {@code shmheap.class.used.blocks},
 *       {@code shmheap.class.total.blocks};</li>
 *   <li>counters, since the heap was created: {@code shmheap.lock.takeovers},
 *       {@code shmheap.reclaimed.blocks}, {@code shmheap.reclaimed} (bytes),
 *       {@code shmheap.buddy.allocations}, {@code shmheap.buddy.frees}, and per size class
 *       {@code shmheap.class.allocations}, {@code shmheap.class.frees}.</li>
 * </ul>
 *
 * <p>The meters read {@code stats()} (no lock, no byte written; it walks the holder map), at
 * most once per {@code maxAge} however many meters a scrape reads. Bind the service's own
 * {@link ShmHeap}, or a {@link HeapObserver} for a heap the service only watches; the binder
 * never closes it. Once the heap is closed, every
 * meter reads NaN (after at most {@code maxAge}, the age of the last read).
 */
public final class ShmHeapMetrics implements MeterBinder {
    /** One scrape reads every meter within a few milliseconds: one stats read serves them all. */
    public static final Duration DEFAULT_MAX_AGE = Duration.ofSeconds(1);

    private final Tags tags;
    private final StatsCache stats;

    public ShmHeapMetrics(ShmHeap heap) {
        this(heap, Tags.empty(), DEFAULT_MAX_AGE);
    }

    /**
     * @param tags   added to every meter besides {@code heap}
     * @param maxAge how old a stats read may be before a meter reads the heap again; zero reads every time
     */
    public ShmHeapMetrics(ShmHeap heap, Iterable<Tag> tags, Duration maxAge) {
        this(Objects.requireNonNull(heap, "heap").path(), heap::stats, tags, maxAge);
    }

    public ShmHeapMetrics(HeapObserver heap) {
        this(heap, Tags.empty(), DEFAULT_MAX_AGE);
    }

    /** As {@link #ShmHeapMetrics(ShmHeap, Iterable, Duration)}, for a heap attached read-only. */
    public ShmHeapMetrics(HeapObserver heap, Iterable<Tag> tags, Duration maxAge) {
        this(Objects.requireNonNull(heap, "heap").path(), heap::stats, tags, maxAge);
    }

    private ShmHeapMetrics(Path file, Supplier<HeapStats> source, Iterable<Tag> tags, Duration maxAge) {
        if (maxAge.isNegative()) {
            throw new IllegalArgumentException("maxAge=" + maxAge + " must not be negative");
        }
        this.tags = Tags.concat(tags, "heap", file.toString());
        this.stats = new StatsCache(source, maxAge);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        bytesGauge(registry, "shmheap.capacity", "Bytes of the heap's data region", HeapStats::totalBytes);
        bytesGauge(registry, "shmheap.used", "Bytes in blocks handed out", HeapStats::usedBytes);
        bytesGauge(registry, "shmheap.available", "Capacity minus used bytes", HeapStats::availableBytes);
        bytesGauge(registry, "shmheap.buddy.free", "Bytes in free buddy blocks, not in slab sets", HeapStats::buddyFreeBytes);
        bytesGauge(registry, "shmheap.largest.free.block", "Size of the largest free buddy block", HeapStats::largestFreeBlock);
        bytesGauge(registry, "shmheap.dead.held", "Bytes held by processes that no longer run, kept until reclaimed",
                s -> s.holdings().deadBytes());
        bytesGauge(registry, "shmheap.shared", "Bytes of live blocks given to the heap: no process holds them",
                s -> s.holdings().sharedBytes());
        gauge(registry, "shmheap.attached.processes", "Processes in the heap's process table, alive or not", null, HeapStats::attachedProcesses);
        gauge(registry, "shmheap.dead.processes", "Processes that died holding blocks", null, s -> s.holdings().dead().size());
        counter(registry, "shmheap.lock.takeovers", "Locks taken over from dead holders since the heap was created", null,
                HeapStats::lockTakeovers);
        counter(registry, "shmheap.reclaimed.blocks", "Blocks of dead processes freed since the heap was created", null,
                HeapStats::reclaimedBlocks);
        counter(registry, "shmheap.reclaimed", "Bytes of blocks of dead processes freed since the heap was created", BaseUnits.BYTES,
                HeapStats::reclaimedBytes);
        counter(registry, "shmheap.buddy.allocations", "Buddy blocks handed out since creation, user blocks and slab sets", null,
                HeapStats::buddyAllocations);
        counter(registry, "shmheap.buddy.frees", "Buddy blocks freed since creation, user blocks and slab sets", null, HeapStats::buddyFrees);
        for (SizeClassStats c : stats.get().sizeClasses()) {
            bindClass(registry, c.blockSize());
        }
    }

    private void bindClass(MeterRegistry registry, int blockSize) {
        Tags classTags = tags.and("block.size", String.valueOf(blockSize));
        Gauge.builder("shmheap.class.used.blocks", stats, cache -> cache.read(s -> s.sizeClass(blockSize).usedBlocks()))
                .description("Used blocks of a slab size class").tags(classTags).register(registry);
        Gauge.builder("shmheap.class.total.blocks", stats, cache -> cache.read(s -> s.sizeClass(blockSize).totalBlocks()))
                .description("Blocks in the slab sets of a size class").tags(classTags).register(registry);
        FunctionCounter.builder("shmheap.class.allocations", stats, cache -> cache.read(s -> s.sizeClass(blockSize).allocations()))
                .description("Blocks of a size class allocated since the heap was created").tags(classTags).register(registry);
        FunctionCounter.builder("shmheap.class.frees", stats, cache -> cache.read(s -> s.sizeClass(blockSize).frees()))
                .description("Blocks of a size class freed since the heap was created").tags(classTags).register(registry);
    }

    private void bytesGauge(MeterRegistry registry, String name, String description, ToDoubleFunction<HeapStats> figure) {
        gauge(registry, name, description, BaseUnits.BYTES, figure);
    }

    private void gauge(MeterRegistry registry, String name, String description, String unit, ToDoubleFunction<HeapStats> figure) {
        Gauge.builder(name, stats, cache -> cache.read(figure)).description(description).baseUnit(unit).tags(tags).register(registry);
    }

    private void counter(MeterRegistry registry, String name, String description, String unit, ToDoubleFunction<HeapStats> figure) {
        FunctionCounter.builder(name, stats, cache -> cache.read(figure)).description(description).baseUnit(unit).tags(tags)
                .register(registry);
    }
}
