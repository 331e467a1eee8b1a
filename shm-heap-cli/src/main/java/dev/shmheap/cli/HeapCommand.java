package dev.shmheap.cli;

import dev.shmheap.AttachOption;
import dev.shmheap.HeapObserver;
import dev.shmheap.ShmHeap;
import picocli.CommandLine.Option;

import java.io.IOException;

/**
 * A subcommand that attaches to an existing heap. Like the library, it refuses a file that is a
 * symbolic link, another user's or writable by others unless {@code --trust-file} is given.
 */
abstract class HeapCommand extends FileCommand {
    @Option(names = "--trust-file", description = "Attach even if FILE is a symbolic link, another user's file (unless shared with "
            + "a group you are in) or writable by others; without it such a file is refused. Whoever can write such a file "
            + "can read and change everything in the heap: use it only for a file you have checked.")
    boolean trustFile;

    /**
     * Attaches to the heap to change it ({@code recover}): this registers the command in the
     * heap's process table until it closes the heap, and needs write permission.
     */
    ShmHeap openHeap() throws IOException {
        return ShmHeap.open(file, attachOptions());
    }

    /**
     * Opens the heap to look at it: read permission is enough, nothing is registered and no
     * byte of the file changes ({@code stats}, {@code verify}, {@code map}, {@code top}).
     */
    HeapObserver openToRead() throws IOException {
        return HeapObserver.open(file, attachOptions());
    }

    private AttachOption[] attachOptions() {
        return trustFile ? new AttachOption[] {AttachOption.TRUST_ANY_FILE} : new AttachOption[0];
    }
}
