package dev.shmheap.cli;

import dev.shmheap.ShmHeap;
import dev.shmheap.internal.layout.HeaderDescriptor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every command on a file that is not a usable heap: one line on stderr, exit 2, no stack trace. */
class UnusableFileTest {
    enum Case {
        MISSING("no such file"),
        NOT_A_HEAP("not a shm-heap file"),
        EMPTY("not a shm-heap file"),
        TRUNCATED("truncated heap file"),
        WRONG_VERSION("heap format version 99 found, this library reads version " + HeaderDescriptor.FORMAT_VERSION),
        CORRUPT_HEADER("header checksum mismatch"),
        DIRECTORY("Is a directory");

        final String phrase;

        Case(String phrase) {
            this.phrase = phrase;
        }

        /** Makes the file (or leaves it missing); returns it. */
        Path make() throws IOException {
            Path file = Cli.newPath("unusable-" + name().toLowerCase());
            switch (this) {
                case MISSING -> { }
                case NOT_A_HEAP -> Files.writeString(file, "just some text, certainly not a heap\n");
                case EMPTY -> Files.createFile(file);
                case DIRECTORY -> Files.createDirectory(file);
                default -> {
                    long length;
                    try (ShmHeap heap = ShmHeap.create(file, 1 << 20)) {
                        heap.allocate(100);
                        length = heap.fileLength();
                    }
                    if (this == TRUNCATED) {
                        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                            channel.truncate(length / 2);
                        }
                    } else if (this == WRONG_VERSION) {
                        Cli.putInt(file, HeaderDescriptor.FORMAT_VERSION_OFFSET, 99);
                    } else {
                        Cli.putLong(file, HeaderDescriptor.CAPACITY_OFFSET, 2L << 20);
                    }
                }
            }
            return file;
        }
    }

    static Stream<Arguments> commandsAndCases() {
        List<Arguments> all = new ArrayList<>();
        List<List<String>> commands = List.of(List.of("stats"), List.of("stats", "--json"), List.of("verify"), List.of("recover"),
                List.of("map"), List.of("map", "--png", "PNG"), List.of("top", "--iterations", "1", "--interval", "10ms"));
        for (List<String> command : commands) {
            for (Case c : Case.values()) {
                all.add(Arguments.of(command, c));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("commandsAndCases")
    void shouldPrintOneLineAndExit2(List<String> command, Case c) throws Exception {
        Path file = c.make();
        Path png = Cli.newPath("unusable").resolveSibling("unusable-" + ProcessHandle.current().pid() + ".png");
        try {
            List<String> args = new ArrayList<>();
            args.add(command.get(0));
            args.add(file.toString());
            command.stream().skip(1).map(a -> a.equals("PNG") ? png.toString() : a).forEach(args::add);
            Cli.Result result = Cli.run(args.toArray(String[]::new));

            assertEquals(2, result.exitCode(), result::toString);
            assertEquals("", result.out(), result::toString);
            assertEquals(1, result.err().lines().count(), result::toString);
            assertTrue(result.err().startsWith("shm-heap: " + file + ": "), result::toString);
            assertTrue(result.err().contains(c.phrase), result::toString);
            assertFalse(result.err().contains("Exception"), result::toString);
            assertFalse(Files.exists(png), "no picture of a non-heap");
        } finally {
            if (Files.isDirectory(file)) {
                Files.delete(file);
            } else {
                Files.deleteIfExists(file);
            }
            Files.deleteIfExists(png);
        }
    }

    @Test
    void shouldPrintTheStackTraceWithVerbose() throws Exception {
        Path file = Case.NOT_A_HEAP.make();
        try {
            Cli.Result result = Cli.run("stats", file.toString(), "--verbose");
            assertEquals(2, result.exitCode(), result::toString);
            assertTrue(result.err().startsWith("shm-heap: " + file + ": not a shm-heap file"), result::toString);
            assertTrue(result.err().contains("dev.shmheap.HeapFormatException"), result::toString);
            assertTrue(result.err().contains("\tat dev.shmheap."), result::toString);

            Cli.Result before = Cli.run("--verbose", "verify", file.toString());
            assertEquals(2, before.exitCode(), before::toString);
            assertTrue(before.err().contains("\tat "), "--verbose before the command counts too: " + before);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void shouldRejectUnknownCommandsAndOptionsAsUsageErrors() {
        Cli.Result unknown = Cli.run("frobnicate");
        assertEquals(2, unknown.exitCode(), unknown::toString);
        assertTrue(unknown.err().startsWith("shm-heap: Unmatched argument at index 0: 'frobnicate'"), unknown::toString);

        Cli.Result none = Cli.run();
        assertEquals(2, none.exitCode(), none::toString);
        assertTrue(none.err().startsWith("shm-heap: missing command"), none::toString);

        Cli.Result help = Cli.run("--help");
        assertEquals(0, help.exitCode(), help::toString);
        for (String command : List.of("create", "stats", "verify", "recover", "map", "top")) {
            assertTrue(help.out().contains("  " + command + " "), command + " in " + help);
        }
    }
}
