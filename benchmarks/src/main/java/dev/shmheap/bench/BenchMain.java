package dev.shmheap.bench;

import dev.shmheap.JvmFlags;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * JMH's command line, plus the JVM flags shm-heap needs in every forked benchmark JVM
 * (JMH forks do not inherit the jar manifest's Add-Opens).
 */
public final class BenchMain {
    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args);
        if (cli.shouldHelp() || cli.shouldList() || cli.shouldListProfilers() || cli.shouldListResultFormats()) {
            org.openjdk.jmh.Main.main(args);
            return;
        }
        new Runner(new OptionsBuilder().parent(cli).jvmArgsAppend(JvmFlags.required().toArray(String[]::new)).build()).run();
    }
}
