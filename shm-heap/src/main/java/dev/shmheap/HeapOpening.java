package dev.shmheap;

import dev.shmheap.internal.attach.Attachment;
import dev.shmheap.internal.view.HeapView;
import dev.shmheap.internal.layout.HeapLayout;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * The file-level rules of {@link ShmHeap#create}, {@link ShmHeap#open} and
 * {@link ShmHeap#openOrCreate}: which file is built or mapped (and whether it may be trusted,
 * see {@link AttachOption}), what an error names, and when an existing heap is not the one
 * asked for. Each returns an attachment the facade wraps.
 */
final class HeapOpening {
    /**
     * Races {@link #openOrCreate} may lose in a row (the file vanishing between a failed create
     * and the next open) before it gives up: each loss means another process deleted the heap
     * right after creating it, which only a pathological loop does.
     */
    private static final int OPEN_OR_CREATE_ATTEMPTS = 10;

    private HeapOpening() {
    }

    /** Builds a new heap file; errors name {@code file}, never the temporary file it is built in. */
    static void create(Path file, long capacityBytes, CreateOption... options) throws IOException {
        EnumSet<CreateOption> set = EnumSet.noneOf(CreateOption.class);
        for (CreateOption option : options) {
            set.add(Objects.requireNonNull(option, "options must not contain null"));
        }
        HeapLayout layout = HeapLayout.forCapacity(capacityBytes, set.contains(CreateOption.SPARSE), set.contains(CreateOption.RECLAIM_DEAD));
        Path dir = file.toAbsolutePath().getParent();
        try {
            HeapFiles.create(file, layout, set.contains(CreateOption.GROUP_ACCESS));
        } catch (NoSuchFileException e) {
            // the failing call names the temporary file beside the target; the user named the target
            throw new NoSuchFileException(file.toString(), null, "cannot create the heap: directory " + dir + " does not exist");
        }
    }

    static Attachment open(Path file, AttachOption... options) throws IOException {
        return attach(HeapFiles.map(file, false, attachOptions(options)).view(file));
    }

    /** The attach options as a set; a null among them is refused. */
    static Set<AttachOption> attachOptions(AttachOption... options) {
        EnumSet<AttachOption> set = EnumSet.noneOf(AttachOption.class);
        for (AttachOption option : options) {
            set.add(Objects.requireNonNull(option, "options must not contain null"));
        }
        return set;
    }

    /**
     * Opens {@code file}, or creates it; an existing heap must have the capacity
     * {@code capacityBytes} asks for (rounded as {@link #create} rounds it), checked before
     * this process registers in it.
     */
    static Attachment openOrCreate(Path file, long capacityBytes, HeapOption... options) throws IOException {
        CreateOption[] createOptions = Arrays.stream(options).filter(CreateOption.class::isInstance).toArray(CreateOption[]::new);
        AttachOption[] attachOptions = Arrays.stream(options).filter(AttachOption.class::isInstance).toArray(AttachOption[]::new);
        long expected = HeapLayout.forCapacity(capacityBytes, false, false).capacity();
        for (int attempt = 0; ; attempt++) {
            try {
                HeapView view = HeapFiles.map(file, false, attachOptions(attachOptions)).view(file);
                long found = view.layout().capacity();
                if (found != expected) {
                    view.close();
                    throw new IllegalArgumentException("heap " + file + " exists with capacity " + found + " bytes, not the " + expected
                            + " bytes asked for (capacityBytes=" + capacityBytes + "): open it with ShmHeap.open, or delete it first");
                }
                return attach(view);
            } catch (NoSuchFileException e) {
                try {
                    create(file, capacityBytes, createOptions);
                    return open(file);
                } catch (FileAlreadyExistsException raced) {
                    if (attempt >= OPEN_OR_CREATE_ATTEMPTS) {
                        throw raced;
                    }
                    // Another process published it between our open and our link: open it.
                }
            }
        }
    }

    /** Registers this process in the mapped heap; unmaps it if that fails. */
    private static Attachment attach(HeapView view) {
        try {
            return new Attachment(view);
        } catch (RuntimeException e) {
            view.close();
            throw e;
        }
    }
}
