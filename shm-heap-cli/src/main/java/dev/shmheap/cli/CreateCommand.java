package dev.shmheap.cli;

import dev.shmheap.CreateOption;
import dev.shmheap.ShmHeap;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

@Command(name = "create", description = "Create a new heap file (fails if FILE exists).")
final class CreateCommand extends FileCommand {
    @Option(names = {"-s", "--size"}, required = true, paramLabel = "SIZE", converter = SizeConverter.class,
            description = "Data capacity: bytes, or a number with k, m, g or t (powers of 1024, any case), e.g. 256m. "
                    + "Rounded up to 4 KiB pages; 32 KiB to 1 TiB.")
    long size;

    @Option(names = "--group-access", description = "Create the file with mode 0660 instead of 0600, so the owner's group can attach.")
    boolean groupAccess;

    @Option(names = "--sparse", description = "Reserve disk or memory lazily, 1 MiB at a time, instead of all at creation.")
    boolean sparse;

    @Option(names = "--reclaim-dead", description = "Free the blocks of processes that no longer run: when a process opens the heap, "
            + "in recover, and before an allocation would fail. Without it they are reported and kept until 'shm-heap reclaim'. "
            + "Fixed at creation.")
    boolean reclaimDead;

    @Option(names = "--process-quota", paramLabel = "SIZE", converter = SizeConverter.class,
            description = "Most bytes one process may hold (e.g. 64m); beyond it allocate fails. Change it later with 'shm-heap quota'.")
    Long processQuota;

    @Override
    public Integer call() throws Exception {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new Failures.CommandFailure("cannot create " + file + ": directory " + parent + " does not exist", ExitCodes.UNUSABLE);
        }
        List<CreateOption> options = new ArrayList<>();
        if (groupAccess) {
            options.add(CreateOption.GROUP_ACCESS);
        }
        if (sparse) {
            options.add(CreateOption.SPARSE);
        }
        if (reclaimDead) {
            options.add(CreateOption.RECLAIM_DEAD);
        }
        ShmHeap heap;
        try {
            heap = ShmHeap.create(file, size, options.toArray(CreateOption[]::new));
        } catch (IllegalArgumentException e) {
            throw new Failures.CommandFailure("cannot create " + file + " with --size " + size + ": " + e.getMessage()
                    + " (a heap holds 32 KiB to 1 TiB)", ExitCodes.UNUSABLE);
        }
        try (heap) {
            if (processQuota != null) {
                heap.setProcessQuota(processQuota);
            }
            out().println("created " + file + ": capacity " + heap.capacity() + " bytes (" + Sizes.human(heap.capacity()) + "), file "
                    + heap.fileLength() + " bytes, " + (sparse ? "sparse (space reserved as it is used)" : "space reserved up front")
                    + ", mode " + (groupAccess ? "0660" : "0600") + ", " + (reclaimDead ? "reclaims" : "keeps") + " dead processes' blocks, "
                    + QuotaCommand.describe(heap.processQuota()));
        }
        return ExitCodes.OK;
    }

    static final class SizeConverter implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return Sizes.parseBytes(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
