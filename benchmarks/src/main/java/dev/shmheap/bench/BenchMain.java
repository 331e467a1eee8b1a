package dev.shmheap.bench;

import dev.shmheap.JvmFlags;
import dev.shmheap.bench.drivers.CrossProcessFreeDriver;
import dev.shmheap.bench.drivers.MemoryEfficiency;
import dev.shmheap.bench.drivers.MultiProcessDriver;
import dev.shmheap.bench.drivers.ScaleDriver;
import dev.shmheap.bench.messaging.MessagingBench;
import dev.shmheap.bench.report.ResultRow;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The benchmarks jar's entry point. {@code java -jar benchmarks.jar SUITE [--quick]} runs one
 * of the suites that {@code scripts/bench.sh} strings together, each printing its figures as
 * table rows; anything else is JMH's own command line, with the JVM flags shm-heap needs
 * added to every forked benchmark JVM (forks do not inherit the jar manifest's Add-Opens).
 */
public final class BenchMain {
    /** A suite's main. */
    interface Suite {
        void run(String[] args) throws Exception;
    }

    static final Map<String, Suite> SUITES = new LinkedHashMap<>();

    static {
        SUITES.put("alloc", JmhSuite::main);
        SUITES.put("multi-process", args -> {
            MultiProcessDriver.main(args);
            CrossProcessFreeDriver.main(args);
        });
        SUITES.put("scale", ScaleDriver::main);
        SUITES.put("memory", MemoryEfficiency::main);
        SUITES.put("messaging", MessagingBench::main);
    }

    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("--table-header")) {
            System.out.println(ResultRow.HEADER); // for scripts/bench.sh, above the rows it gathers
            return;
        }
        if (args.length > 0 && SUITES.containsKey(args[0])) {
            SUITES.get(args[0]).run(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        CommandLineOptions cli = new CommandLineOptions(args);
        if (cli.shouldHelp() || cli.shouldList() || cli.shouldListProfilers() || cli.shouldListResultFormats()) {
            if (cli.shouldHelp()) {
                System.out.println("Suites (print markdown table rows): " + String.join(", ", SUITES.keySet())
                        + "  e.g. java -jar benchmarks.jar alloc --quick\nOtherwise JMH's options:");
            }
            org.openjdk.jmh.Main.main(args);
            return;
        }
        new Runner(new OptionsBuilder().parent(cli).jvmArgsAppend(JvmFlags.required().toArray(String[]::new)).build()).run();
    }
}
