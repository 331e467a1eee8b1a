package dev.shmheap.cli;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;

/**
 * A small pretty-printing JSON writer: objects and arrays nest, names and values are written in
 * call order, strings are escaped per RFC 8259. Misuse (a value without a name inside an
 * object) throws, so the output is always well-formed. An object begun with
 * {@link #beginInlineObject()} is written on one line, for the rows of an array.
 */
final class JsonWriter {
    private final StringBuilder out = new StringBuilder();
    /** One entry per open container: {is an object, has members yet, is written on one line}. */
    private final Deque<boolean[]> open = new ArrayDeque<>();
    private boolean nameWritten;

    JsonWriter beginObject() {
        beforeValue();
        out.append('{');
        open.push(new boolean[] {true, false, inline()});
        return this;
    }

    /** An object whose members follow each other on one line. */
    JsonWriter beginInlineObject() {
        beforeValue();
        out.append('{');
        open.push(new boolean[] {true, false, true});
        return this;
    }

    JsonWriter endObject() {
        return end('}', true);
    }

    JsonWriter beginArray() {
        beforeValue();
        out.append('[');
        open.push(new boolean[] {false, false, inline()});
        return this;
    }

    /** An array whose elements follow each other on one line. */
    JsonWriter beginInlineArray() {
        beforeValue();
        out.append('[');
        open.push(new boolean[] {false, false, true});
        return this;
    }

    JsonWriter endArray() {
        return end(']', false);
    }

    JsonWriter name(String name) {
        boolean[] top = open.peek();
        if (top == null || !top[0] || nameWritten) {
            throw new IllegalStateException("a name belongs directly inside an object");
        }
        separate(top);
        string(name);
        out.append(": ");
        nameWritten = true;
        return this;
    }

    JsonWriter value(long value) {
        beforeValue();
        out.append(value);
        return this;
    }

    /** A finite number with six decimals, so that the output does not depend on the locale. */
    JsonWriter value(double value) {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException("JSON has no " + value);
        }
        beforeValue();
        out.append(String.format(Locale.ROOT, "%.6f", value));
        return this;
    }

    JsonWriter value(boolean value) {
        beforeValue();
        out.append(value);
        return this;
    }

    JsonWriter value(String value) {
        beforeValue();
        if (value == null) {
            out.append("null");
        } else {
            string(value);
        }
        return this;
    }

    JsonWriter field(String name, long value) {
        return name(name).value(value);
    }

    JsonWriter field(String name, double value) {
        return name(name).value(value);
    }

    JsonWriter field(String name, boolean value) {
        return name(name).value(value);
    }

    JsonWriter field(String name, String value) {
        return name(name).value(value);
    }

    /** The document; every container must be closed. */
    @Override
    public String toString() {
        if (!open.isEmpty()) {
            throw new IllegalStateException(open.size() + " JSON containers are still open");
        }
        return out.toString();
    }

    private void beforeValue() {
        boolean[] top = open.peek();
        if (top == null) {
            if (out.length() > 0) {
                throw new IllegalStateException("a JSON document has one top-level value");
            }
            return;
        }
        if (top[0]) {
            if (!nameWritten) {
                throw new IllegalStateException("a value inside an object needs a name first");
            }
            nameWritten = false;
        } else {
            separate(top);
        }
    }

    private boolean inline() {
        boolean[] top = open.peek();
        return top != null && top[2];
    }

    private void separate(boolean[] top) {
        if (top[1]) {
            out.append(',');
        }
        top[1] = true;
        if (top[2]) {
            out.append(' ');
        } else {
            newline(open.size());
        }
    }

    private JsonWriter end(char close, boolean object) {
        boolean[] top = open.peek();
        if (top == null || top[0] != object || nameWritten) {
            throw new IllegalStateException("cannot close " + (object ? "an object" : "an array") + " here");
        }
        open.pop();
        if (top[2]) {
            out.append(top[1] ? " " : "");
        } else if (top[1]) {
            newline(open.size());
        }
        out.append(close);
        return this;
    }

    private void newline(int depth) {
        out.append('\n').append("  ".repeat(depth));
    }

    private void string(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
