package dev.shmheap;

/** Options of {@link ShmHeap#create}, in the style of {@link java.nio.file.OpenOption}. */
public enum CreateOption implements HeapOption {
    /**
     * Do not reserve the whole file up front. Backing store is reserved extent by extent (1 MiB)
     * as the buddy allocator first hands memory out, so a full filesystem surfaces as a
     * {@link HeapFullException} from {@code allocate}, never as a SIGBUS. Without this option
     * {@code create} reserves everything and fails at once when the filesystem cannot hold it.
     */
    SPARSE,
    /** Create the file with mode 0660 instead of 0600, so that the owner's group can attach. */
    GROUP_ACCESS,
    /**
     * Free the blocks held by processes that no longer run: in {@link ShmHeap#recover()}, when
     * any process opens the heap, and before an allocation would fail with
     * {@link HeapFullException}. A block is held by the process that allocated it (or took it
     * over) until it frees it, {@linkplain ShmHeap#share shares} it or
     * {@linkplain ShmHeap#handOff hands it off}; shared and handed-off blocks are never
     * reclaimed. Without this option the same blocks are only reported, per dead process, by
     * {@code stats()}, {@code verify()} and {@code recover()}, and kept until
     * {@link ShmHeap#reclaimDead()} frees them. Fixed at creation.
     */
    RECLAIM_DEAD
}
