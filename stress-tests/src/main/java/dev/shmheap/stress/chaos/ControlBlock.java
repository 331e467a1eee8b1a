package dev.shmheap.stress.chaos;

import dev.shmheap.ShmHeap;

/**
 * The chaos run's control block: one heap block, bound by {@link #NAME}, through which the
 * coordinator tells workers to stop and each worker publishes its progress and the blocks it
 * holds. A worker writes only its own slot; every word is written with one aligned 64-bit
 * release store, so a worker killed at any instruction leaves each word either old or new.
 *
 * <pre>
 *   block header, 128 bytes (two cache lines):
 *  +---------------------------------------------------------------+
 *  |          Magic (64): {@link #MAGIC}                                    |  0
 *  +---------------------------------------------------------------+
 *  |          Stop (64): 0 = run, 1 = free everything and exit     |  8
 *  +---------------------------------------------------------------+
 *  |          Slot count (64)                                      | 16
 *  +---------------------------------------------------------------+
 *  |          Ledger entries per slot (64)                         | 24
 *  +---------------------------------------------------------------+
 *
 *   slot i at HEADER_LENGTH + i * SLOT_LENGTH; its header, 128 bytes:
 *  +---------------------------------------------------------------+
 *  |          Worker id (64): the pattern owner; 0 = slot unused   |  0
 *  +---------------------------------------------------------------+
 *  |          Ops (64): allocations + frees completed              |  8
 *  +---------------------------------------------------------------+
 *  |          Held bytes (64): usable bytes of the blocks held     | 16
 *  +---------------------------------------------------------------+
 *  |          Pending bytes (64): +u during an allocate of a block |
 *  |          of u usable bytes, -u during its free, else 0        | 24
 *  +---------------------------------------------------------------+
 *  |          Last op (64): System.nanoTime() when the last op ended| 32
 *  +---------------------------------------------------------------+
 *   then the ledger, LEDGER_ENTRIES entries of 16 bytes:
 *  +---------------------------------------------------------------+
 *  |          Meta (64): unwritten flag (bit 63) | size &lt;&lt; 40 | seq  |  0
 *  +---------------------------------------------------------------+
 *  |          Offset (64): a block the worker holds; 0 = empty     |  8
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Ledger protocol (what makes reclaiming a dead worker's blocks safe): an entry's offset is
 * written right after {@code allocate} returns the block (meta first, with {@link #UNWRITTEN},
 * then the offset; the flag is cleared once the pattern is written), and cleared
 * <em>before</em> the block is freed. So at any instant every non-zero offset is a block the
 * worker holds, and no offset appears twice: freeing the ledger of a dead worker can never
 * free a block that some other process holds. The price is at most one leaked block per kill
 * (killed inside {@code allocate} after the heap handed the block out, or between the return
 * and the ledger store; or between the ledger clear and the end of {@code free}); the pending
 * word says which, so the leak is accounted for.
 */
final class ControlBlock {
    static final String NAME = "chaos.control";
    /** Ledger entries per slot: a worker holds at most this many blocks (its held limit ends most runs of allocations first). */
    static final int LEDGER_ENTRIES = 512;
    static final long MAGIC = 0x4348_414F_5331_0001L;

    static final int MAGIC_OFFSET = 0;
    static final int STOP_OFFSET = 8;
    static final int SLOT_COUNT_OFFSET = 16;
    static final int LEDGER_ENTRIES_OFFSET = 24;
    static final int HEADER_LENGTH = 128;

    static final int WORKER_ID_OFFSET = 0;
    static final int OPS_OFFSET = 8;
    static final int HELD_BYTES_OFFSET = 16;
    static final int PENDING_BYTES_OFFSET = 24;
    static final int LAST_OP_NANOS_OFFSET = 32;
    static final int SLOT_HEADER_LENGTH = 128;

    static final int ENTRY_META_OFFSET = 0;
    static final int ENTRY_BLOCK_OFFSET = 8;
    static final int ENTRY_LENGTH = 16;

    static final int SEQ_BITS = 40;
    static final long SEQ_MASK = (1L << SEQ_BITS) - 1;
    /** Requested sizes must fit the 23 bits between the sequence and the flag. */
    static final long MAX_SIZE = (1L << (Long.SIZE - 1 - SEQ_BITS)) - 1;
    /** Meta flag: the block is listed but its pattern is not written yet; free it unchecked. */
    static final long UNWRITTEN = Long.MIN_VALUE;

    private ControlBlock() {
    }

    static long slotLength(int ledgerEntries) {
        return SLOT_HEADER_LENGTH + (long) ledgerEntries * ENTRY_LENGTH;
    }

    static long length(int slots, int ledgerEntries) {
        return HEADER_LENGTH + slots * slotLength(ledgerEntries);
    }

    static long slot(long block, int ledgerEntries, int slot) {
        return block + HEADER_LENGTH + slot * slotLength(ledgerEntries);
    }

    static long entry(long slotOffset, int index) {
        return slotOffset + SLOT_HEADER_LENGTH + (long) index * ENTRY_LENGTH;
    }

    static long meta(long size, long seq) {
        if (size <= 0 || size > MAX_SIZE || seq <= 0 || seq > SEQ_MASK) {
            throw new IllegalArgumentException("size=" + size + " seq=" + seq + " do not fit a ledger entry");
        }
        return size << SEQ_BITS | seq;
    }

    static long sizeOf(long meta) {
        return (meta & ~UNWRITTEN) >>> SEQ_BITS;
    }

    static boolean written(long meta) {
        return (meta & UNWRITTEN) == 0;
    }

    static long seqOf(long meta) {
        return meta & SEQ_MASK;
    }

    /** Allocates, zeroes and binds a control block; returns its offset. */
    static long create(ShmHeap heap, int slots, int ledgerEntries) {
        long length = length(slots, ledgerEntries);
        long block = heap.allocate(length, 128);
        for (long at = 0; at < length; at += Long.BYTES) {
            heap.putLong(block + at, 0);
        }
        heap.putLong(block + SLOT_COUNT_OFFSET, slots);
        heap.putLong(block + LEDGER_ENTRIES_OFFSET, ledgerEntries);
        heap.putLongRelease(block + MAGIC_OFFSET, MAGIC);
        heap.bind(NAME, block);
        return block;
    }

    /** Looks up and checks the control block of a heap. */
    static long find(ShmHeap heap) {
        long block = heap.lookup(NAME).orElseThrow(() -> new IllegalStateException("no control block '" + NAME + "' in " + heap));
        long magic = heap.getLongVolatile(block + MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new IllegalStateException("control block at offset " + block + " has magic 0x" + Long.toHexString(magic)
                    + ", expected 0x" + Long.toHexString(MAGIC));
        }
        return block;
    }
}
