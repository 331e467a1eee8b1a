package dev.shmheap.ipc.demo;

import dev.shmheap.JvmFlags;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Starts a main class of this classpath in a new JVM with the flags shm-heap needs. */
final class ChildJvm {
    private ChildJvm() {
    }

    static List<String> command(Class<?> main, List<String> jvmOptions, List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JvmFlags.required());
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(classpath());
        command.add(main.getName());
        command.addAll(args);
        return command;
    }

    /** Starts the child with its output and errors going to this process's. */
    static Process start(Class<?> main, List<String> jvmOptions, List<String> args) throws IOException {
        return new ProcessBuilder(command(main, jvmOptions, args)).inheritIO().start();
    }

    /**
     * The classpath to give a child: the real one. Under surefire with a manifest-only booter
     * jar, java.class.path names only that jar, so prefer surefire's property when present.
     */
    static String classpath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path");
    }
}
