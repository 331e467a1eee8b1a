package dev.shmheap;

/**
 * Options of {@link ShmHeap#open}, {@link ShmHeap#openOrCreate} and {@link HeapObserver#open},
 * in the style of {@link java.nio.file.OpenOption}.
 *
 * <p>Without options, attaching refuses a file that someone else could have planted or could
 * change behind the heap's users, in the way OpenSSH's {@code StrictModes} refuses such
 * key files. Each refusal is an {@link UntrustedHeapFileException} that names what was found.
 * The file is refused when:
 * <ol>
 *   <li>the path is a symbolic link (the last component is opened with {@code O_NOFOLLOW});</li>
 *   <li>it is owned by another user, unless its owner shared it with a group this process is
 *       in: the group may read it ({@link CreateOption#GROUP_ACCESS} gives the group read and
 *       write; an observer needs only read);</li>
 *   <li>other users may write it (mode {@code o+w}), or its group may write it and this
 *       process, though the owner, is not in that group.</li>
 * </ol>
 * The checks read the opened file (through its descriptor), not the path again, so a file
 * swapped in between the check and the mapping is never the one mapped.
 *
 * <p>Root is treated as any other user: a root process attaches only to files root owns (or
 * to a group heap of one of its groups). Root's permission to read every file is exactly what
 * an unprivileged user who plants a file in {@code /dev/shm} would exploit.
 */
public enum AttachOption implements HeapOption {
    /**
     * Attach to the file whatever its owner and mode, and follow a symbolic link. Risk: whoever
     * owns or may write the file (or controls the link's target) can read every byte this
     * process stores in the heap and change it under this process, including the allocator's
     * metadata, and so make it misbehave. Use it only for a file you have checked yourself, for
     * example one whose directory no other user can write.
     */
    TRUST_ANY_FILE
}
