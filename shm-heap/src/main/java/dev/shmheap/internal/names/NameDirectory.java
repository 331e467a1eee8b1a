package dev.shmheap.internal.names;

import dev.shmheap.ShmHeapException;
import dev.shmheap.internal.memory.MappedMemory;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The heap's name directory: 256 entries of 64 bytes that bind names to block offsets, so
 * that processes find channels and shared structures without passing offsets out of band.
 * The caller holds the name-directory lock for every method.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |               State (64): 0 = empty, 1 = bound                |  0
 *  +---------------------------------------------------------------+
 *  |               Block offset (64)                               |  8
 *  +---------------+-----------------------------------------------+
 *  | Name length   |  Name, UTF-8, up to 47 bytes                  | 16
 *  +---------------+                                               |
 *  |                                                           ... | 63
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>An entry is published by one ordered store of its state word after its offset and name
 * are written, and withdrawn by one store of 0; a process killed in between leaves an entry
 * that is either complete and bound or ignored, so the directory needs no repair.
 */
public final class NameDirectory {
    public static final int ENTRY_LENGTH = 64;
    public static final int ENTRY_COUNT = 256;
    public static final int MAX_NAME_BYTES = 47;
    private static final int STATE = 0;
    private static final int OFFSET = 8;
    private static final int NAME_LENGTH = 16;
    private static final int NAME = 17;
    private static final long BOUND = 1;

    private final MappedMemory memory;
    private final long directoryOffset;

    public NameDirectory(MappedMemory memory, long directoryOffset) {
        this.memory = memory;
        this.directoryOffset = directoryOffset;
    }

    /** The UTF-8 bytes of a valid name, or an IllegalArgumentException saying what is wrong. */
    public static byte[] encode(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("name must not be null or empty");
        }
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > MAX_NAME_BYTES) {
            throw new IllegalArgumentException("name '" + name + "' is " + bytes.length + " UTF-8 bytes, at most " + MAX_NAME_BYTES + " are allowed");
        }
        return bytes;
    }

    public void bind(byte[] name, String display, long offset) {
        int free = -1;
        for (int i = 0; i < ENTRY_COUNT; i++) {
            long entry = entryOffset(i);
            if (memory.getLongVolatile(entry + STATE) != BOUND) {
                free = free < 0 ? i : free;
            } else if (nameEquals(entry, name)) {
                throw new IllegalStateException("name '" + display + "' is already bound to offset " + memory.getLong(entry + OFFSET));
            }
        }
        if (free < 0) {
            throw new ShmHeapException("the name directory is full: " + ENTRY_COUNT + " names are bound");
        }
        long entry = entryOffset(free);
        memory.putLong(entry + OFFSET, offset);
        memory.putByte(entry + NAME_LENGTH, (byte) name.length);
        memory.putBytes(entry + NAME, name, 0, name.length);
        memory.putLongRelease(entry + STATE, BOUND);
    }

    public OptionalLong lookup(byte[] name) {
        int i = find(name);
        return i < 0 ? OptionalLong.empty() : OptionalLong.of(memory.getLong(entryOffset(i) + OFFSET));
    }

    /** Removes the binding and returns the offset it named, or empty when the name is not bound. */
    public OptionalLong unbind(byte[] name) {
        int i = find(name);
        if (i < 0) {
            return OptionalLong.empty();
        }
        long entry = entryOffset(i);
        long offset = memory.getLong(entry + OFFSET);
        memory.putLongRelease(entry + STATE, 0);
        return OptionalLong.of(offset);
    }

    /** Every bound name with its offset, in directory order; entries with garbage state are skipped. */
    public Map<String, Long> entries() {
        Map<String, Long> names = new LinkedHashMap<>();
        for (int i = 0; i < ENTRY_COUNT; i++) {
            long entry = entryOffset(i);
            if (memory.getLongVolatile(entry + STATE) == BOUND) {
                int length = Math.min(memory.getByte(entry + NAME_LENGTH) & 0xFF, MAX_NAME_BYTES);
                byte[] bytes = new byte[length];
                memory.getBytes(entry + NAME, bytes, 0, length);
                names.put(new String(bytes, StandardCharsets.UTF_8), memory.getLong(entry + OFFSET));
            }
        }
        return names;
    }

    /** Entries whose state word is neither empty nor bound: for verify. */
    public int corruptEntries() {
        int corrupt = 0;
        for (int i = 0; i < ENTRY_COUNT; i++) {
            long state = memory.getLongVolatile(entryOffset(i) + STATE);
            if (state != 0 && state != BOUND) {
                corrupt++;
            }
        }
        return corrupt;
    }

    private int find(byte[] name) {
        for (int i = 0; i < ENTRY_COUNT; i++) {
            long entry = entryOffset(i);
            if (memory.getLongVolatile(entry + STATE) == BOUND && nameEquals(entry, name)) {
                return i;
            }
        }
        return -1;
    }

    private boolean nameEquals(long entry, byte[] name) {
        if ((memory.getByte(entry + NAME_LENGTH) & 0xFF) != name.length) {
            return false;
        }
        for (int b = 0; b < name.length; b++) {
            if (memory.getByte(entry + NAME + b) != name[b]) {
                return false;
            }
        }
        return true;
    }

    private long entryOffset(int index) {
        return directoryOffset + (long) index * ENTRY_LENGTH;
    }
}
