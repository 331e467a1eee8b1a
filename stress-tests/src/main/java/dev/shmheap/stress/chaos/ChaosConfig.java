package dev.shmheap.stress.chaos;

import dev.shmheap.CreateOption;

import java.nio.file.Path;
import java.util.Locale;

/**
 * What a chaos run does: every option of the command line, checked when built. {@link #parse}
 * reads the command line, {@link #defaults()} is what an empty one means.
 *
 * @param heap           a heap file to create, a directory to create it in, or null for /dev/shm (else java.io.tmpdir)
 * @param heldLimitBytes bytes each worker may hold; 0: a quarter of the heap shared among the workers ({@link #heldLimit()})
 * @param minAgeMillis   a worker is killed only after it has completed operations for this long
 * @param reclaim        who gives a killed worker's blocks back to the heap
 */
public record ChaosConfig(Path heap, int workers, long seconds, long seed, long capacityBytes, long heldLimitBytes,
                          long killMinMillis, long killMaxMillis, long minAgeMillis, Reclaim reclaim, boolean warmNative,
                          long dumpStallsMillis, boolean keep, boolean verbose) {
    static final String USAGE = "usage: ChaosRun [HEAP_FILE_OR_DIR] [--workers N] [--seconds S | --minutes M] [--seed X]"
            + " [--capacity-mib M] [--held-kib K] [--kill-min-ms A] [--kill-max-ms B] [--min-age-ms C] [--reclaim heap|ledger|none]"
            + " [--no-reclaim] [--warm-native] [--dump-stalls-ms D] [--keep] [--verbose]";
    /** Worker ids are pattern owners, at most 65535 over a run; 64 slots is far below what two cores can run anyway. */
    static final int MAX_WORKERS = 64;
    /** The heap must hold the control block and a few 1 MiB blocks per worker. */
    static final long MIN_CAPACITY_BYTES = 8L << 20;

    /** Who gives the blocks of a killed worker back to the heap; see {@link Reclamation}. */
    public enum Reclaim {
        /**
         * The heap, created with {@link CreateOption#RECLAIM_DEAD}, frees what a dead worker held
         * (when a replacement opens the heap, before a HeapFullException, in the final
         * {@code recover()}); the coordinator never touches a dead worker's blocks.
         */
        HEAP,
        /** The coordinator frees the blocks listed in the dead worker's ledger (see {@link ControlBlock}). */
        LEDGER,
        /** Nobody: the blocks stay used, and the accounting checks that the leak is what the slots say. */
        NONE;

        /** The options the run's heap is created with. */
        CreateOption[] createOptions() {
            return this == HEAP ? new CreateOption[] {CreateOption.RECLAIM_DEAD} : new CreateOption[0];
        }

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Reclaim parse(String label) {
            for (Reclaim r : values()) {
                if (r.label().equals(label)) {
                    return r;
                }
            }
            throw new IllegalArgumentException("--reclaim " + label + ": expected one of heap, ledger, none");
        }
    }

    public ChaosConfig {
        if (workers < 1 || workers > MAX_WORKERS) {
            throw new IllegalArgumentException("workers=" + workers + " must be in 1.." + MAX_WORKERS);
        }
        if (seconds < 1) {
            throw new IllegalArgumentException("seconds=" + seconds + " must be positive");
        }
        if (minAgeMillis < 0 || dumpStallsMillis < 0 || heldLimitBytes < 0) {
            throw new IllegalArgumentException("minAgeMillis=" + minAgeMillis + " dumpStallsMillis=" + dumpStallsMillis + " heldLimitBytes="
                    + heldLimitBytes + " must not be negative");
        }
        if (killMinMillis < 1 || killMaxMillis < killMinMillis) {
            throw new IllegalArgumentException("kill interval [" + killMinMillis + ", " + killMaxMillis + "] ms is not valid");
        }
        if (capacityBytes < MIN_CAPACITY_BYTES) {
            throw new IllegalArgumentException("capacityBytes=" + capacityBytes + " must be at least " + MIN_CAPACITY_BYTES);
        }
        if (reclaim == null) {
            throw new IllegalArgumentException("reclaim must be given");
        }
    }

    /** 4 workers for 60 s on a 64 MiB heap, a kill every 0.5-2 s, the heap reclaims, a seed from the clock. */
    public static ChaosConfig defaults() {
        return new ChaosConfig(null, 4, 60, System.nanoTime() & 0xFFFF_FFFFL, 64L << 20, 0, 500, 2000, 1000, Reclaim.HEAP, false, 0,
                false, false);
    }

    public ChaosConfig withWorkers(int n) {
        return new ChaosConfig(heap, n, seconds, seed, capacityBytes, heldLimitBytes, killMinMillis, killMaxMillis, minAgeMillis, reclaim,
                warmNative, dumpStallsMillis, keep, verbose);
    }

    public ChaosConfig withSeconds(long s) {
        return new ChaosConfig(heap, workers, s, seed, capacityBytes, heldLimitBytes, killMinMillis, killMaxMillis, minAgeMillis, reclaim,
                warmNative, dumpStallsMillis, keep, verbose);
    }

    public ChaosConfig withSeed(long s) {
        return new ChaosConfig(heap, workers, seconds, s, capacityBytes, heldLimitBytes, killMinMillis, killMaxMillis, minAgeMillis, reclaim,
                warmNative, dumpStallsMillis, keep, verbose);
    }

    public ChaosConfig withReclaim(Reclaim r) {
        return new ChaosConfig(heap, workers, seconds, seed, capacityBytes, heldLimitBytes, killMinMillis, killMaxMillis, minAgeMillis, r,
                warmNative, dumpStallsMillis, keep, verbose);
    }

    /** Bytes each worker may hold: as given, else a quarter of the heap shared among the workers. */
    long heldLimit() {
        return heldLimitBytes > 0 ? heldLimitBytes : capacityBytes / (4L * workers);
    }

    /** Reads a command line; throws IllegalArgumentException naming the argument that is wrong. */
    static ChaosConfig parse(String[] args) {
        ChaosConfig d = defaults();
        Path heap = null;
        int workers = d.workers();
        long seconds = d.seconds();
        long seed = d.seed();
        long capacity = d.capacityBytes();
        long held = d.heldLimitBytes();
        long killMin = d.killMinMillis();
        long killMax = d.killMaxMillis();
        long minAge = d.minAgeMillis();
        long dumpStalls = d.dumpStallsMillis();
        Reclaim reclaim = d.reclaim();
        boolean warmNative = d.warmNative();
        boolean keep = d.keep();
        boolean verbose = d.verbose();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            try {
                switch (a) {
                    case "--workers" -> workers = Integer.parseInt(value(args, ++i, a));
                    case "--seconds" -> seconds = Long.parseLong(value(args, ++i, a));
                    case "--minutes" -> seconds = 60 * Long.parseLong(value(args, ++i, a));
                    case "--seed" -> seed = Long.parseLong(value(args, ++i, a));
                    case "--capacity-mib" -> capacity = Long.parseLong(value(args, ++i, a)) << 20;
                    case "--held-kib" -> held = Long.parseLong(value(args, ++i, a)) << 10;
                    case "--kill-min-ms" -> killMin = Long.parseLong(value(args, ++i, a));
                    case "--kill-max-ms" -> killMax = Long.parseLong(value(args, ++i, a));
                    case "--min-age-ms" -> minAge = Long.parseLong(value(args, ++i, a));
                    case "--dump-stalls-ms" -> dumpStalls = Long.parseLong(value(args, ++i, a));
                    case "--reclaim" -> reclaim = Reclaim.parse(value(args, ++i, a));
                    case "--no-reclaim" -> reclaim = Reclaim.NONE;
                    case "--warm-native" -> warmNative = true;
                    case "--keep" -> keep = true;
                    case "--verbose" -> verbose = true;
                    default -> {
                        if (a.startsWith("--") || heap != null) {
                            throw new IllegalArgumentException("unknown argument " + a);
                        }
                        heap = Path.of(a);
                    }
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(a + " " + args[i] + ": not a number");
            }
        }
        return new ChaosConfig(heap, workers, seconds, seed, capacity, held, killMin, killMax, minAge, reclaim, warmNative, dumpStalls, keep,
                verbose);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }
}
