package dev.shmheap.stress.jcstress;

import dev.shmheap.internal.memory.MappedMemory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Slots of real shared memory for jcstress states: each slot is {@link #SLOT_LENGTH} bytes of a
 * file in /dev/shm mapped with {@link MappedMemory}, laid out like the heap's own lock blocks.
 *
 * <pre>
 *   slot + 0    lock word (alone on two cache lines, as in the heap header)
 *   slot + 128  data words 0..15, the state the lock protects or the bitmap under test
 * </pre>
 *
 * <p>jcstress keeps up to strideSize * strideCount states alive at once (10,240 by default) and
 * creates fresh ones for every round, so slots are recycled: a state takes one in its
 * constructor and gives it back in its {@code @Arbiter} (or, in termination tests, at the end of
 * its actor), after which no thread touches that state again. A slot is zeroed when taken.
 *
 * <p>Memory comes in chunks of {@link #CHUNK_LENGTH} bytes, each its own file, mapped and then
 * unlinked at once: the mapping stays valid until the JVM exits, and a fork that the harness
 * kills leaves nothing behind in /dev/shm.
 */
final class MappedSlots {
    static final int SLOT_LENGTH = 256;
    static final long LOCK = 0;
    static final long DATA = 128;
    static final int DATA_WORDS = (SLOT_LENGTH - (int) DATA) / Long.BYTES;
    private static final long CHUNK_LENGTH = 1 << 20;

    private static final ConcurrentLinkedQueue<Slot> FREE = new ConcurrentLinkedQueue<>();

    static {
        Quiet.spinLockWarnings();
    }

    private MappedSlots() {
    }

    /** One slot: a mapping and the file offset of the slot's first byte. */
    static final class Slot {
        final MappedMemory memory;
        final long base;

        private Slot(MappedMemory memory, long base) {
            this.memory = memory;
            this.base = base;
        }

        long lock() {
            return base + LOCK;
        }

        /** The offset of data word {@code i}. */
        long data(int i) {
            if (i < 0 || i >= DATA_WORDS) {
                throw new IndexOutOfBoundsException("data word " + i + " of " + DATA_WORDS);
            }
            return base + DATA + (long) i * Long.BYTES;
        }
    }

    /** A zeroed slot, from the recycled ones or a new chunk. */
    static Slot take() {
        Slot slot = FREE.poll();
        if (slot == null) {
            slot = addChunk();
        }
        slot.memory.setMemory(slot.base, SLOT_LENGTH, (byte) 0);
        return slot;
    }

    /** Gives a slot back; its state must never be used again. */
    static void give(Slot slot) {
        FREE.add(slot);
    }

    private static synchronized Slot addChunk() {
        Slot recycled = FREE.poll();
        if (recycled != null) {
            return recycled;
        }
        MappedMemory memory = mapChunk();
        for (long offset = SLOT_LENGTH; offset < CHUNK_LENGTH; offset += SLOT_LENGTH) {
            FREE.add(new Slot(memory, offset));
        }
        return new Slot(memory, 0);
    }

    private static MappedMemory mapChunk() {
        try {
            Path file = Files.createTempFile(ShmFiles.directory(), "shmheap-jcstress-slots-", ".bin");
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                channel.write(ByteBuffer.wrap(new byte[1]), CHUNK_LENGTH - 1);
                return MappedMemory.map(channel, CHUNK_LENGTH);
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot map a chunk of jcstress slots", e);
        }
    }
}
