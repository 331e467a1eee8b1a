package dev.shmheap.cli;

import dev.shmheap.HeapObserver;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.io.IOException;
import java.nio.file.Path;

@Command(name = "map",
        description = {"Draw the data region in the terminal or as a PNG.",
                "Each cell is a run of 4 KiB pages shown as what holds most of it: free, buddy-used, or a slab set "
                        + "of one class. Colours on a terminal, distinct characters otherwise; a legend follows."})
final class MapCommand extends HeapCommand {
    @Option(names = "--png", paramLabel = "OUT.png", description = "Write the picture to this PNG file instead of the terminal.")
    Path png;

    @Option(names = "--width", paramLabel = "N", defaultValue = "64", description = "Cells per row, 8..1024. Default: ${DEFAULT-VALUE}.")
    int width;

    @Option(names = "--rows", paramLabel = "N", defaultValue = "32",
            description = "At most this many rows, 1..1024; the cell size is the smallest power-of-two number of pages that fits. "
                    + "Default: ${DEFAULT-VALUE}.")
    int rows;

    @Mixin
    ColorOption color;

    @Override
    public Integer call() throws Exception {
        if (width < 8 || width > 1024) {
            throw new ParameterException(spec.commandLine(), "--width " + width + " is outside 8..1024");
        }
        if (rows < 1 || rows > 1024) {
            throw new ParameterException(spec.commandLine(), "--rows " + rows + " is outside 1..1024");
        }
        HeapPicture picture;
        try (HeapObserver heap = openToRead()) {
            picture = HeapPicture.of(heap, width, rows);
        }
        if (png == null) {
            TextMap.print(picture, color.ansi(terminal()), out());
            return ExitCodes.OK;
        }
        try {
            PngMap.write(picture, png);
        } catch (IOException e) {
            throw new Failures.CommandFailure("cannot write " + png + ": " + Failures.describe(e), ExitCodes.UNUSABLE);
        }
        out().println("wrote " + png + ": " + PngMap.size(picture).width + "x" + PngMap.size(picture).height + " pixels, "
                + picture.cells + " cells of " + Sizes.human(picture.cellBytes()));
        out().flush();
        return ExitCodes.OK;
    }
}
