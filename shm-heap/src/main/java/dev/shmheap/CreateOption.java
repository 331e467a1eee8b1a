package dev.shmheap;

/** Options of {@link ShmHeap#create}, in the style of {@link java.nio.file.OpenOption}. */
public enum CreateOption {
    /**
     * Do not reserve the whole file up front. Backing store is reserved extent by extent (1 MiB)
     * as the buddy allocator first hands memory out, so a full filesystem surfaces as a
     * {@link HeapFullException} from {@code allocate}, never as a SIGBUS. Without this option
     * {@code create} reserves everything and fails at once when the filesystem cannot hold it.
     */
    SPARSE,
    /** Create the file with mode 0660 instead of 0600, so that the owner's group can attach. */
    GROUP_ACCESS
}
