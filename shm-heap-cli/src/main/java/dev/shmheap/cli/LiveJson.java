package dev.shmheap.cli;

import dev.shmheap.HeapStats;
import dev.shmheap.Holdings;
import dev.shmheap.ProcessHoldings;

import java.awt.Color;
import java.util.List;
import java.util.Locale;

/**
 * The JSON documents {@code serve}'s page polls: {@code /api/heaps} (which heaps, in what
 * state), {@code /api/live} (one heap's latest figures, holdings, history and recovery events)
 * and {@code /api/map} (one heap's {@link HeapPicture}, as {@code map} draws it). Their layout
 * is the page's business (docs/CLI.md names the fields); {@code /api/stats} is the stable one.
 */
final class LiveJson {
    private LiveJson() {
    }

    static String heaps(List<WatchedHeap> heaps) {
        JsonWriter json = new JsonWriter().beginArray();
        for (int i = 0; i < heaps.size(); i++) {
            WatchedHeap heap = heaps.get(i);
            json.beginInlineObject().field("index", i).field("file", heap.file().toString()).field("state", stateName(heap.state()))
                    .field("problem", heap.problem()).endObject();
        }
        return json.endArray().toString();
    }

    static String stateName(WatchedHeap.State state) {
        return state.name().toLowerCase(Locale.ROOT);
    }

    static String live(int index, WatchedHeap heap, HeapHistory history, long intervalMillis) {
        JsonWriter json = new JsonWriter().beginObject()
                .field("index", index)
                .field("file", heap.file().toString())
                .field("state", stateName(heap.state()))
                .field("problem", heap.problem())
                .field("reattachments", heap.reattachments())
                .field("intervalMillis", intervalMillis);
        HeapSnapshot latest = history.latest();
        HeapHistory.Sample sample = history.lastSample();
        json.name("latest");
        if (latest == null || sample == null) {
            json.value((String) null);
        } else {
            latestJson(json, latest, sample);
        }
        json.name("processes").beginArray();
        if (latest != null) {
            for (ProcessHoldings p : latest.stats().holdings().processes()) {
                StatsReport.processHoldingsJson(json, p);
            }
        }
        json.endArray();
        historyJson(json, history.samples());
        json.name("events").beginArray();
        for (HeapHistory.Event e : history.events()) {
            json.beginInlineObject().field("millis", e.millis()).field("kind", e.kind()).field("count", e.count()).field("bytes", e.bytes())
                    .endObject();
        }
        json.endArray();
        return json.endObject().toString();
    }

    private static void latestJson(JsonWriter json, HeapSnapshot latest, HeapHistory.Sample sample) {
        HeapStats s = latest.stats();
        Holdings h = s.holdings();
        json.beginObject()
                .field("takenMillis", latest.takenMillis())
                .field("totalBytes", s.totalBytes())
                .field("usedBytes", s.usedBytes())
                .field("availableBytes", s.availableBytes())
                .field("largestFreeBlock", s.largestFreeBlock())
                .field("fragmentation", s.fragmentation())
                .field("allocationsPerSecond", Math.max(-1, sample.allocationsPerSecond()))
                .field("freesPerSecond", Math.max(-1, sample.freesPerSecond()))
                .field("allocations", HeapHistory.allocations(s))
                .field("frees", HeapHistory.frees(s))
                .field("lockTakeovers", s.lockTakeovers())
                .field("reclaimedBlocks", s.reclaimedBlocks())
                .field("reclaimedBytes", s.reclaimedBytes())
                .field("attachedProcesses", latest.processes().size())
                .field("aliveProcesses", latest.aliveProcesses())
                .field("sharedBytes", h.sharedBytes())
                .field("handedOffBytes", h.handedOffBytes())
                .field("deadBytes", h.deadBytes())
                .field("processQuota", s.processQuota())
                .field("reclaimsDead", latest.reclaimsDead())
                .endObject();
    }

    /** The samples as parallel arrays (one line each): t, up, used, available, largest free, rates; -1 where there is none. */
    private static void historyJson(JsonWriter json, List<HeapHistory.Sample> samples) {
        json.name("history").beginObject();
        json.name("millis").beginInlineArray();
        samples.forEach(x -> json.value(x.millis()));
        json.endArray().name("up").beginInlineArray();
        samples.forEach(x -> json.value(x.up()));
        json.endArray().name("usedBytes").beginInlineArray();
        samples.forEach(x -> json.value(x.used()));
        json.endArray().name("availableBytes").beginInlineArray();
        samples.forEach(x -> json.value(x.available()));
        json.endArray().name("largestFreeBlock").beginInlineArray();
        samples.forEach(x -> json.value(x.largestFree()));
        json.endArray().name("allocationsPerSecond").beginInlineArray();
        samples.forEach(x -> json.value(Math.max(-1, x.allocationsPerSecond())));
        json.endArray().name("freesPerSecond").beginInlineArray();
        samples.forEach(x -> json.value(Math.max(-1, x.freesPerSecond())));
        json.endArray().endObject();
    }

    /** The map of one heap: cell states as one string of digits (state i is character '0' + i), a legend with colours. */
    static String map(HeapPicture picture) {
        StringBuilder states = new StringBuilder(picture.cells);
        for (int cell = 0; cell < picture.cells; cell++) {
            states.append((char) ('0' + picture.state[cell]));
        }
        JsonWriter json = new JsonWriter().beginObject()
                .field("file", picture.file)
                .field("capacity", picture.capacity)
                .field("dataOffset", picture.dataOffset)
                .field("cellBytes", picture.cellBytes())
                .field("width", picture.width)
                .field("rows", picture.rows())
                .field("cells", picture.cells)
                .field("states", states.toString());
        json.name("legend").beginArray();
        for (int s = 0; s < HeapPicture.STATES; s++) {
            json.beginInlineObject().field("state", s).field("name", HeapPicture.stateName(s)).field("color", hex(PngMap.color(s)))
                    .field("bytes", picture.bytes[s]).endObject();
        }
        return json.endArray().endObject().toString();
    }

    private static String hex(Color c) {
        return String.format(Locale.ROOT, "#%02x%02x%02x", c.getRed(), c.getGreen(), c.getBlue());
    }
}
