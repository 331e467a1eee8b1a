package dev.shmheap.cli;

import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The observing commands (stats, map, verify, top) through the real scripts/shm-heap, by a user
 * who may only read the heap file: each succeeds and the file's SHA-256 is unchanged. Runs in
 * the integration-test phase, after the jar is built.
 */
class ReadOnlyAccessIT {
    /** The unprivileged user and its group on Debian and most Linux distributions. */
    private static final String OTHER_USER = "nobody";
    private static final String OTHER_GROUP = "nogroup";

    private Path file;

    @BeforeEach
    void createHeapInUse() throws Exception {
        file = Cli.newPath("read-only");
        try (ShmHeap heap = ShmHeap.create(file, 4 << 20)) {
            for (int i = 0; i < 50; i++) {
                heap.allocate(48 + 40 * i);
            }
            heap.bind("first", heap.allocate(100_000));
        }
    }

    @AfterEach
    void deleteHeap() throws Exception {
        Files.deleteIfExists(file);
    }

    /** The four observing commands, each as {@code user}: exit 0, nothing on stderr, not a byte changed. */
    private void observeWithoutChange(String user, String... extra) throws Exception {
        String before = ScriptRuns.sha256(file);
        List<List<String>> commands = List.of(
                List.of("stats", file.toString()),
                List.of("stats", file.toString(), "--format", "prometheus"),
                List.of("map", file.toString()),
                List.of("verify", file.toString(), "--timeout", "30s"),
                List.of("verify", file.toString(), "--json"),
                List.of("top", file.toString(), "-n", "2", "-i", "10ms"));
        for (List<String> command : commands) {
            ScriptRuns.Run run = ScriptRuns.script(user, concat(command, extra));
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals("", run.err(), run::toString);
            assertEquals(before, ScriptRuns.sha256(file), "the file changed after " + run);
        }
        ScriptRuns.Run verify = ScriptRuns.script(user, concat(List.of("verify", file.toString()), extra));
        assertTrue(verify.out().startsWith(file + ": OK\n"), verify::toString);
        ScriptRuns.Run stats = ScriptRuns.script(user, concat(List.of("stats", file.toString()), extra));
        assertTrue(stats.out().contains("attached processes: 0 (0 alive)"), "the commands do not attach: " + stats);
    }

    @Test
    void shouldObserveAFileWithMode0444WithoutChangingIt() throws Exception {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--r--r--"));
        observeWithoutChange(null);
        if (isRoot()) {
            // root may write a 0444 file anyway; the second user below is the real proof. Root's
            // file is not shared with that user's group, so it attaches only with --trust-file.
            ScriptRuns.Run refused = ScriptRuns.script(OTHER_USER, "stats", file.toString());
            assertEquals(2, refused.exitCode(), refused::toString);
            assertTrue(refused.err().contains("refusing to attach: it is owned by another user"), refused::toString);
            observeWithoutChange(OTHER_USER, "--trust-file");
        }
    }

    /** Another user's heap that the observer may read through its group (mode 0640). */
    @Test
    void shouldObserveAnotherUsersHeapThroughGroupReadWithoutChangingIt() throws Exception {
        assumeTrue(isRoot(), "needs root to run a command as user " + OTHER_USER + " (runuser)");
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/runuser")) || Files.isExecutable(Path.of("/sbin/runuser")),
                "runuser is not installed");
        ScriptRuns.Run probe = ScriptRuns.script(OTHER_USER, "--version");
        assumeTrue(probe.exitCode() == 0, "user " + OTHER_USER + " cannot run the script here (it needs read access to the "
                + "repository and a JDK): " + probe);
        GroupPrincipal group = file.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(OTHER_GROUP);
        Files.getFileAttributeView(file, PosixFileAttributeView.class).setGroup(group);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        observeWithoutChange(OTHER_USER);

        // the same user may not change it: recover needs write access and says so
        ScriptRuns.Run recover = ScriptRuns.script(OTHER_USER, "recover", file.toString());
        assertEquals(2, recover.exitCode(), recover::toString);
        assertEquals("shm-heap: " + file + ": permission denied\n", recover.err(), recover::toString);
    }

    @Test
    void shouldBeRefusedEverythingWithoutReadPermission() throws Exception {
        assumeTrue(isRoot(), "needs root to run a command as user " + OTHER_USER + " (runuser)");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        ScriptRuns.Run stats = ScriptRuns.script(OTHER_USER, "stats", file.toString());
        assertEquals(2, stats.exitCode(), stats::toString);
        assertEquals("shm-heap: " + file + ": permission denied\n", stats.err(), stats::toString);
    }

    private static String[] concat(List<String> command, String... extra) {
        List<String> all = new java.util.ArrayList<>(command);
        all.addAll(List.of(extra));
        return all.toArray(new String[0]);
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }
}
