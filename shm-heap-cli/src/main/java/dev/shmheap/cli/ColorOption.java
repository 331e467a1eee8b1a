package dev.shmheap.cli;

import picocli.CommandLine.Option;

/** {@code --color=auto|always|never}: ANSI escapes only when stdout is a terminal, by default. */
final class ColorOption {
    enum When { AUTO, ALWAYS, NEVER }

    @Option(names = "--color", paramLabel = "WHEN", defaultValue = "auto",
            description = "ANSI colours and screen control: auto (when stdout is a terminal), always, never. Default: ${DEFAULT-VALUE}.")
    When when = When.AUTO;

    boolean ansi(boolean terminal) {
        return when == When.ALWAYS || (when == When.AUTO && terminal);
    }
}
