package dev.shmheap.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * A subcommand that works on one heap file, existing ({@link HeapCommand}) or to be created
 * ({@code create}). Failures are thrown and turned into one line and an exit code by
 * {@link Failures}; {@link #call()} returns the exit code of a completed run.
 */
abstract class FileCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
    boolean help;

    @Parameters(index = "0", paramLabel = "FILE", description = "The heap file, e.g. /dev/shm/app.heap.")
    Path file;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** Whether stdout is a terminal (decided once by main; tests pass false). */
    boolean terminal() {
        return ((ShmHeapCli) spec.root().userObject()).terminal();
    }
}
