package dev.shmheap.cli;

import dev.shmheap.HeapObserver;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

@Command(name = "names",
        description = {"List the names bound in the heap with the offset and size of each named block.",
                "Names are bound by the library's ShmHeap.bind(name, offset) and found by lookup(name). The size is the "
                        + "block's usable size (its size class, or its buddy block). Only reads the file: read permission is "
                        + "enough and no byte changes."})
final class NamesCommand extends HeapCommand {
    /** Version of the {@code --json} document's layout; see docs/CLI.md. */
    static final int SCHEMA = 1;
    /** The size of a block freed between listing the names and asking for its size. */
    static final long SIZE_UNKNOWN = -1;

    @Option(names = "--json", description = "Print one JSON document (schema in docs/CLI.md) instead of text.")
    boolean json;

    /** One bound name: the block's offset and usable size ({@link #SIZE_UNKNOWN} if it was freed meanwhile). */
    record Binding(String name, long offset, long size) {
    }

    @Override
    public Integer call() throws Exception {
        List<Binding> bindings;
        String path;
        try (HeapObserver heap = openToRead()) {
            bindings = bindings(heap);
            path = heap.path().toString();
        }
        if (json) {
            out().println(json(path, bindings));
        } else {
            print(path, bindings, out());
        }
        out().flush();
        return ExitCodes.OK;
    }

    /** The heap's names in name order, each with its block's offset and usable size. */
    static List<Binding> bindings(HeapObserver heap) {
        List<Binding> bindings = new ArrayList<>();
        for (Map.Entry<String, Long> e : new TreeMap<>(heap.names()).entrySet()) {
            bindings.add(new Binding(e.getKey(), e.getValue(), sizeOf(heap, e.getValue())));
        }
        return bindings;
    }

    private static long sizeOf(HeapObserver heap, long offset) {
        try {
            return heap.usableSize(offset);
        } catch (IllegalArgumentException unboundAndFreedSinceListed) {
            return SIZE_UNKNOWN;
        }
    }

    static void print(String path, List<Binding> bindings, PrintWriter out) {
        if (bindings.isEmpty()) {
            out.println(path + ": no names bound");
            return;
        }
        out.println(path + ": " + bindings.size() + " name(s) bound");
        Table table = new Table("name", "offset", "size", "").left(0, 3);
        for (Binding b : bindings) {
            boolean known = b.size() != SIZE_UNKNOWN;
            table.row(b.name(), b.offset(), known ? b.size() : "-", known ? Sizes.human(b.size()) : "freed since listed");
        }
        table.print(out, "  ");
    }

    static String json(String path, List<Binding> bindings) {
        JsonWriter json = new JsonWriter().beginObject()
                .field("schema", SCHEMA)
                .field("file", path);
        json.name("names").beginArray();
        for (Binding b : bindings) {
            json.beginInlineObject().field("name", b.name()).field("offset", b.offset()).name("size");
            if (b.size() == SIZE_UNKNOWN) {
                json.value((String) null);
            } else {
                json.value(b.size());
            }
            json.endObject();
        }
        json.endArray();
        return json.endObject().toString();
    }
}
