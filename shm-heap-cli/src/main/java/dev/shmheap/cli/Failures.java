package dev.shmheap.cli;

import dev.shmheap.HeapCorruptedException;
import dev.shmheap.HeapFormatException;
import dev.shmheap.UntrustedHeapFileException;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/** Turns an exception that ended a command into one line on stderr and an exit code. */
final class Failures {
    private Failures() {
    }

    static int report(Exception e, CommandLine commandLine, boolean verbose) {
        Throwable cause = e instanceof UncheckedIOException u ? u.getCause() : e;
        PrintWriter err = commandLine.getErr();
        err.println("shm-heap: " + describe(cause));
        if (verbose) {
            cause.printStackTrace(err);
        }
        err.flush();
        return exitCode(cause);
    }

    static int exitCode(Throwable e) {
        if (e instanceof CommandFailure f) {
            return f.exitCode();
        }
        return e instanceof IOException || e instanceof HeapFormatException ? ExitCodes.UNUSABLE : ExitCodes.PROBLEM;
    }

    /** One line without the "shm-heap: " prefix. */
    static String describe(Throwable e) {
        if (e instanceof CommandFailure) {
            return e.getMessage();
        }
        if (e instanceof HeapFormatException) {
            return e.getMessage(); // already "FILE: what was found, what was expected"
        }
        if (e instanceof HeapCorruptedException) {
            return "corrupt heap metadata: " + e.getMessage() + " (run 'shm-heap verify' for the full list)";
        }
        if (e instanceof NoSuchFileException f) {
            return f.getFile() + ": no such file";
        }
        if (e instanceof FileAlreadyExistsException f) {
            return f.getFile() + ": a file already exists there";
        }
        if (e instanceof UntrustedHeapFileException f) {
            return f.getFile() + ": refusing to attach: " + f.getReason() + "; --trust-file attaches anyway";
        }
        if (e instanceof AccessDeniedException f) {
            return f.getFile() + ": permission denied";
        }
        if (e instanceof FileSystemException f) {
            return f.getFile() + ": " + (f.getReason() == null ? f.getClass().getSimpleName() : f.getReason());
        }
        if (e instanceof IOException) {
            return e.getMessage() == null ? e.toString() : e.getMessage();
        }
        return "unexpected " + e.getClass().getName() + ": " + e.getMessage() + " (run with --verbose for the stack trace)";
    }

    /** A failure the command has already put into words; its exit code is chosen by the command. */
    static final class CommandFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final int exitCode;

        CommandFailure(String message, int exitCode) {
            super(message);
            this.exitCode = exitCode;
        }

        int exitCode() {
            return exitCode;
        }
    }
}
