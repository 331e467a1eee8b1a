package dev.shmheap.ipc;

/**
 * A region of a channel that {@link ShmSender#tryClaim(long, ShmClaim)} reserved for one
 * message: write the message's {@link #length()} bytes at heap offset {@link #offset()}, then
 * {@link #commit()} to publish it or {@link #abort()} to drop it. Reused: one per sender thread,
 * claimed again after each commit or abort.
 *
 * <p>The region is either inside the ring ({@link #isInline()}: the message's slot) or a heap
 * block allocated for the message (then only its offset travels; the receiver frees it).
 * Writers do not need to know which.
 */
public final class ShmClaim {
    private ShmSender sender;
    private long position = -1;
    private long offset;
    private long length;
    private boolean inline;

    void set(ShmSender sender, long position, long offset, long length, boolean inline) {
        this.sender = sender;
        this.position = position;
        this.offset = offset;
        this.length = length;
        this.inline = inline;
    }

    /** True between a successful claim and its commit or abort. */
    public boolean isActive() {
        return position >= 0;
    }

    /** Heap offset of the first writable byte. */
    public long offset() {
        ensureActive();
        return offset;
    }

    /** Bytes of the message, as claimed. */
    public long length() {
        ensureActive();
        return length;
    }

    /** True if the region is inside the channel's ring, false if it is a heap block of its own. */
    public boolean isInline() {
        ensureActive();
        return inline;
    }

    /** Publishes the message: one ordered store; wakes the consumer only if it sleeps. */
    public void commit() {
        ensureActive();
        long at = position;
        position = -1;
        sender.commit(at, offset, length, inline ? ChannelDescriptor.INLINE : ChannelDescriptor.OFFSET);
    }

    /** Drops the message: the slot is published as padding, which the consumer passes; a block is freed. */
    public void abort() {
        ensureActive();
        long at = position;
        position = -1;
        sender.abort(at, offset, inline);
    }

    long position() {
        return position;
    }

    private void ensureActive() {
        if (position < 0) {
            throw new IllegalStateException("claim is not active: claim first with ShmSender.tryClaim, once per commit or abort");
        }
    }

    @Override
    public String toString() {
        return position < 0 ? "ShmClaim{inactive}"
                : "ShmClaim{position=" + position + ", offset=" + offset + ", length=" + length + (inline ? ", inline}" : ", by offset}");
    }
}
