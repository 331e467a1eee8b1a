package dev.shmheap.bench.drivers;

/**
 * Runs the three drivers one after the other in one JVM: {@link MultiProcessDriver},
 * {@link ScaleDriver}, {@link MemoryEfficiency}. Rows on stdout, everything else on stderr;
 * exits 1 if any driver fails (the others still run).
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar &lt;JvmFlags&gt; dev.shmheap.bench.drivers.AllDrivers [--quick]
 * </pre>
 */
public final class AllDrivers {
    private AllDrivers() {
    }

    public static void main(String[] args) {
        boolean quick = DriverSupport.hasFlag(args, "--quick");
        boolean failed = false;
        long start = System.nanoTime();
        try {
            MultiProcessDriver.Config config = quick ? MultiProcessDriver.Config.quick() : MultiProcessDriver.Config.full();
            MultiProcessDriver.printRows(config, MultiProcessDriver.run(config));
        } catch (Exception | AssertionError e) {
            e.printStackTrace();
            failed = true;
        }
        DriverSupport.log(String.format(java.util.Locale.ROOT, "all drivers: multi-process done after %.1f s", (System.nanoTime() - start) / 1e9));
        try {
            ScaleDriver.Config config = quick ? ScaleDriver.Config.quick() : ScaleDriver.Config.full();
            ScaleDriver.printRows(config, ScaleDriver.run(config));
        } catch (Exception | AssertionError e) {
            e.printStackTrace();
            failed = true;
        }
        DriverSupport.log(String.format(java.util.Locale.ROOT, "all drivers: scale done after %.1f s", (System.nanoTime() - start) / 1e9));
        try {
            MemoryEfficiency.Config config = quick ? MemoryEfficiency.Config.quick() : MemoryEfficiency.Config.full();
            MemoryEfficiency.printRows(config, MemoryEfficiency.run(config));
        } catch (Exception | AssertionError e) {
            e.printStackTrace();
            failed = true;
        }
        DriverSupport.log(String.format(java.util.Locale.ROOT, "all drivers: memory done after %.1f s", (System.nanoTime() - start) / 1e9));
        DriverSupport.deleteAllCreated();
        if (failed) {
            System.exit(1);
        }
    }
}
