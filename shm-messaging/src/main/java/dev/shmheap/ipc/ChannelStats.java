package dev.shmheap.ipc;

/**
 * A snapshot of a channel's shared counters, read without locks.
 *
 * @param capacity          slots in the ring
 * @param tail              positions (slots) claimed by producers so far: a record takes one or more
 * @param head              positions the consumer has passed (delivered or skipped)
 * @param skippedSlots      claims passed without a message: made by a producer that died
 *                          before publishing
 * @param futexWaits        times the consumer went to sleep in FUTEX_WAIT
 * @param futexWakes        FUTEX_WAKE calls producers made because the consumer slept
 * @param producers         producer-table entries in use (live or not yet found dead)
 * @param consumerAttached  whether a receiver holds the consumer word
 * @param consumerWaiting   whether the consumer says it sleeps right now
 * @param slotLength        bytes of one slot
 * @param inlineMessages    messages the consumer has received inside their slots
 * @param offsetMessages    messages the consumer has received by offset (in their own blocks)
 */
public record ChannelStats(int capacity, long tail, long head, long skippedSlots, long futexWaits, long futexWakes, int producers,
                           boolean consumerAttached, boolean consumerWaiting, int slotLength, long inlineMessages,
                           long offsetMessages) {
    /** Slots claimed but not yet consumed (approximate while producers run). */
    public long depth() {
        return Math.max(0, tail - head);
    }

    /** Largest message that travels inline in this channel (in the slots of one record). */
    public int inlineCapacity() {
        return ChannelDescriptor.inlineCapacity(capacity, slotLength);
    }
}
