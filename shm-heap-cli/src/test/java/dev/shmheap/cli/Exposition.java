package dev.shmheap.cli;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of the Prometheus text exposition format for tests: every sample must belong
 * to the family whose {@code # HELP} and {@code # TYPE} came last, no family may appear twice,
 * and label values are unescaped. Throws {@link AssertionError} naming the line otherwise.
 */
final class Exposition {
    record Sample(String name, Map<String, String> labels, long value) {
    }

    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)\\{(.*)} (-?\\d+)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"(,|$)");

    final List<Sample> samples = new ArrayList<>();
    /** Family name to its TYPE. */
    final Map<String, String> types = new LinkedHashMap<>();

    static Exposition parse(String text) {
        Exposition e = new Exposition();
        String family = null;
        Set<String> helped = new HashSet<>();
        for (String line : text.split("\n")) {
            if (line.startsWith("# HELP ")) {
                family = line.substring(7).split(" ", 2)[0];
                if (!helped.add(family)) {
                    throw new AssertionError("family " + family + " appears twice");
                }
            } else if (line.startsWith("# TYPE ")) {
                String[] parts = line.substring(7).split(" ");
                if (!parts[0].equals(family)) {
                    throw new AssertionError("TYPE of " + parts[0] + " after HELP of " + family);
                }
                e.types.put(parts[0], parts[1]);
            } else {
                Matcher m = SAMPLE.matcher(line);
                if (!m.matches()) {
                    throw new AssertionError("not a sample line: " + line);
                }
                if (!m.group(1).equals(family) || !e.types.containsKey(family)) {
                    throw new AssertionError("sample of " + m.group(1) + " outside its family (current: " + family + "): " + line);
                }
                Map<String, String> labels = new LinkedHashMap<>();
                Matcher l = LABEL.matcher(m.group(2));
                int end = 0;
                while (l.find() && l.start() == end) {
                    labels.put(l.group(1), l.group(2).replace("\\n", "\n").replace("\\\"", "\"").replace("\\\\", "\\"));
                    end = l.end();
                }
                if (end != m.group(2).length()) {
                    throw new AssertionError("malformed labels: " + line);
                }
                e.samples.add(new Sample(m.group(1), labels, Long.parseLong(m.group(3))));
            }
        }
        return e;
    }

    /** The one sample of {@code name} whose labels include all of {@code labels} (name, value pairs). */
    long value(String name, String... labels) {
        List<Sample> found = find(name, labels);
        if (found.size() != 1) {
            throw new AssertionError(found.size() + " samples of " + name + " " + List.of(labels) + " in " + samples);
        }
        return found.get(0).value();
    }

    List<Sample> find(String name, String... labels) {
        List<Sample> found = new ArrayList<>();
        for (Sample s : samples) {
            boolean match = s.name().equals(name);
            for (int i = 0; match && i < labels.length; i += 2) {
                match = labels[i + 1].equals(s.labels().get(labels[i]));
            }
            if (match) {
                found.add(s);
            }
        }
        return found;
    }
}
