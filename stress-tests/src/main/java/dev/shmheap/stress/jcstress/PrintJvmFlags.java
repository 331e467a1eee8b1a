package dev.shmheap.stress.jcstress;

import dev.shmheap.JvmFlags;

/**
 * Prints the JVM flags shm-heap needs ({@link JvmFlags#required()}) on one line, separated by
 * spaces, so that {@code scripts/jcstress.sh} can hand them to the jcstress forks with
 * {@code -jvmArgsPrepend} without keeping a second copy of the list.
 */
public final class PrintJvmFlags {
    private PrintJvmFlags() {
    }

    public static void main(String[] args) {
        System.out.println(String.join(" ", JvmFlags.required()));
    }
}
