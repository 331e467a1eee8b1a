package dev.shmheap.internal.observe;

import dev.shmheap.internal.layout.HeaderDescriptor;
import dev.shmheap.internal.layout.HeapLayout;
import dev.shmheap.internal.memory.MappedMemory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Maps a heap file for an observer that may only read it: the file is opened {@code O_RDONLY}
 * (so read permission is enough) and mapped {@code PROT_READ}. Nothing is registered in the
 * process table and no byte of the file is written; the header is validated as
 * {@code ShmHeap.open} validates it.
 */
public final class ReadOnlyMapping {
    private ReadOnlyMapping() {
    }

    /** The validated layout and the read-only mapping of the whole file. */
    public record Mapped(HeapLayout layout, MappedMemory memory) {
    }

    public static Mapped map(Path file) throws IOException {
        if (Files.isDirectory(file)) {
            // O_RDONLY opens a directory (O_RDWR does not): say what a writer's open would say
            throw new FileSystemException(file.toString(), null, "Is a directory");
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            ByteBuffer header = ByteBuffer.allocate(HeaderDescriptor.HEADER_LENGTH);
            while (header.hasRemaining() && channel.read(header, header.position()) > 0) {
                // read until the header is complete or the file ends
            }
            HeapLayout layout = HeapLayout.read(header.clear(), size, file.toString());
            return new Mapped(layout, MappedMemory.mapReadOnly(channel, layout.fileLength()));
        }
    }
}
