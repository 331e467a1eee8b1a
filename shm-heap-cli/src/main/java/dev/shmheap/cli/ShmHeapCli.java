package dev.shmheap.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;

import java.io.PrintWriter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * {@code shm-heap}: create, inspect, check and repair heap files from the shell.
 *
 * <p>Every failure prints one line, {@code shm-heap: WHAT: WHY}, on stderr and exits with one
 * of the {@link ExitCodes}; {@code --verbose} adds the stack trace.
 */
@Command(name = "shm-heap",
        mixinStandardHelpOptions = true,
        versionProvider = ShmHeapCli.Version.class,
        description = "Create, inspect, check and repair shm-heap files.",
        subcommands = {CreateCommand.class, StatsCommand.class, VerifyCommand.class, RecoverCommand.class, MapCommand.class,
                TopCommand.class, ReclaimCommand.class, QuotaCommand.class, NamesCommand.class, ServeCommand.class, CommandLine.HelpCommand.class},
        footerHeading = "%nExit codes:%n",
        footer = {"  0  done; for verify: the heap is consistent",
                "  1  the heap has a problem: verify found one, recover refused, reclaim",
                "     kept dead holdings, corrupt",
                "     metadata, or an unexpected error",
                "  2  the file cannot be used as a heap (missing, not a heap, other format",
                "     version, truncated, corrupt header, no permission, someone else's",
                "     file without --trust-file) or the command line is wrong",
                "  3  verify --timeout: no consistent look at the heap in time (busy)",
                "",
                "Run 'shm-heap COMMAND --help' for a command's options."})
public final class ShmHeapCli implements Runnable {
    /** The logger of the library, kept strongly reachable while its level is changed. */
    private static final Logger LIBRARY_LOG = Logger.getLogger("dev.shmheap");

    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "Print stack traces of failures and the library's log.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final boolean terminal;

    ShmHeapCli(boolean terminal) {
        this.terminal = terminal;
    }

    /** Whether standard output is a terminal, which turns on colours and in-place refresh. */
    boolean terminal() {
        return terminal;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: one of create, stats, verify, recover, map, top, reclaim, quota, names, serve");
    }

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        int code;
        try {
            code = newCommandLine(stdoutIsTerminal()).execute(args);
        } catch (Throwable t) {
            // Errors (not Exceptions) escape picocli: still one line, and the trace on request.
            System.err.println("shm-heap: internal error: " + t);
            if (java.util.Arrays.asList(args).contains("--verbose")) {
                t.printStackTrace();
            }
            code = ExitCodes.PROBLEM;
        }
        System.exit(code);
    }

    /**
     * Whether standard output is a terminal. Up to Java 21, {@code System.console()} is non-null
     * only when stdin and stdout are terminals. From Java 22 on it returns a console in a pipe
     * too, and {@code Console.isTerminal()} (new in 22, called reflectively because the code is
     * compiled for 17) tells.
     */
    static boolean stdoutIsTerminal() {
        java.io.Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(console);
        } catch (NoSuchMethodException beforeJava22) {
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false; // cannot tell: plain output is safe everywhere
        }
    }

    /**
     * The configured command line; tests call it with {@code terminal = false} and set their own
     * out and err writers with {@link CommandLine#setOut} and {@link CommandLine#setErr}.
     */
    static CommandLine newCommandLine(boolean terminal) {
        CommandLine commandLine = new CommandLine(new ShmHeapCli(terminal));
        commandLine.setParameterExceptionHandler(ShmHeapCli::usageError);
        commandLine.setExecutionExceptionHandler((e, cl, parseResult) -> Failures.report(e, cl, verbose(parseResult)));
        commandLine.setExecutionStrategy(ShmHeapCli::executeWithLibraryLog);
        commandLine.setCaseInsensitiveEnumValuesAllowed(true);
        return commandLine;
    }

    private static int usageError(CommandLine.ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        PrintWriter err = cl.getErr();
        err.println("shm-heap: " + e.getMessage());
        err.println("Try '" + cl.getCommandSpec().qualifiedName() + " --help'.");
        err.flush();
        return ExitCodes.UNUSABLE;
    }

    /** True if --verbose was given at any level of the command line. */
    static boolean verbose(ParseResult parseResult) {
        for (ParseResult level = parseResult; level != null; level = level.subcommand()) {
            if (level.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs the command with the library's log (lock takeovers, long lock waits) shown as
     * {@code shm-heap: warning: ...} lines on the command's stderr, one line per record.
     */
    private static int executeWithLibraryLog(ParseResult parseResult) {
        boolean verbose = verbose(parseResult);
        PrintWriter err = parseResult.commandSpec().commandLine().getErr();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (isLoggable(record)) {
                    err.println("shm-heap: " + record.getLevel().getName().toLowerCase(java.util.Locale.ROOT) + ": " + record.getMessage());
                    if (verbose && record.getThrown() != null) {
                        record.getThrown().printStackTrace(err);
                    }
                    err.flush();
                }
            }

            @Override
            public void flush() {
                err.flush();
            }

            @Override
            public void close() {
                flush();
            }
        };
        handler.setLevel(verbose ? Level.ALL : Level.WARNING);
        Level level = LIBRARY_LOG.getLevel();
        boolean useParent = LIBRARY_LOG.getUseParentHandlers();
        LIBRARY_LOG.setLevel(verbose ? Level.ALL : Level.WARNING);
        LIBRARY_LOG.setUseParentHandlers(false);
        LIBRARY_LOG.addHandler(handler);
        try {
            return new CommandLine.RunLast().execute(parseResult);
        } finally {
            LIBRARY_LOG.removeHandler(handler);
            LIBRARY_LOG.setUseParentHandlers(useParent);
            LIBRARY_LOG.setLevel(level);
        }
    }

    /** The version from the jar's manifest, "development build" when run from classes. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = ShmHeapCli.class.getPackage().getImplementationVersion();
            return new String[] {"shm-heap " + (version == null ? "(development build)" : version)
                    + ", Java " + System.getProperty("java.version")};
        }
    }
}
