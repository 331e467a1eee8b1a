package dev.shmheap;

/**
 * An option of {@link ShmHeap#openOrCreate}, which takes both kinds, as {@link java.nio.file.OpenOption}
 * covers both {@link java.nio.file.StandardOpenOption} and {@link java.nio.file.LinkOption}:
 * {@link CreateOption}s apply when the call creates the heap, {@link AttachOption}s whenever it
 * attaches.
 */
public sealed interface HeapOption permits CreateOption, AttachOption {
}
