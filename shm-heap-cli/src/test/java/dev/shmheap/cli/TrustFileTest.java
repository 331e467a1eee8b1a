package dev.shmheap.cli;

import dev.shmheap.ShmHeap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every command that attaches refuses an untrusted file with one line and exit 2, and --trust-file lets it attach. */
class TrustFileTest {
    private final List<Path> files = new ArrayList<>();

    @AfterEach
    void deleteFiles() throws Exception {
        for (Path file : files) {
            Files.deleteIfExists(file);
        }
    }

    private Path newHeap(String label) throws Exception {
        Path file = Cli.newPath(label);
        files.add(file);
        ShmHeap.create(file, 1 << 20).close();
        return file;
    }

    @Test
    void shouldRefuseWorldWritableHeapInEveryCommandAndAttachWithTrustFile() throws Exception {
        Path file = newHeap("trust-world");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-rw-"));
        for (String command : List.of("stats", "verify", "names", "map", "top", "recover", "reclaim", "quota")) {
            List<String> args = new ArrayList<>(List.of(command, file.toString()));
            if (command.equals("top")) {
                args.addAll(List.of("-n", "1"));
            }
            Cli.Result refused = Cli.run(args.toArray(String[]::new));
            assertEquals(2, refused.exitCode(), command + ": " + refused);
            assertEquals("", refused.out(), command + ": " + refused);
            assertEquals("shm-heap: " + file + ": refusing to attach: every user may write it (owner uid 0, this process uid 0, group gid 0, "
                    + "mode 0666); --trust-file attaches anyway\n", refused.err().replaceAll("uid \\d+", "uid 0").replaceAll("gid \\d+", "gid 0"),
                    command + ": " + refused);

            args.add("--trust-file");
            Cli.Result trusted = Cli.run(args.toArray(String[]::new));
            assertEquals(0, trusted.exitCode(), command + " --trust-file: " + trusted);
        }
    }

    @Test
    void shouldRefuseSymbolicLinkNamingItsTarget() throws Exception {
        Path target = newHeap("trust-target");
        Path link = Cli.newPath("trust-link");
        files.add(link);
        Files.createSymbolicLink(link, target);
        Cli.Result refused = Cli.run("stats", link.toString());
        assertEquals(2, refused.exitCode(), refused::toString);
        assertTrue(refused.err().contains(link + ": refusing to attach: it is a symbolic link to " + target), refused::toString);
        assertFalse(refused.err().contains("AttachOption"), "the command line names its flag, not the library's option: " + refused);
        assertEquals(0, Cli.run("verify", link.toString(), "--trust-file").exitCode());
    }

    @Test
    void shouldNotOfferTrustFileToCreate() {
        Cli.Result result = Cli.run("create", "--help");
        assertFalse(result.out().contains("--trust-file"), result::toString);
    }
}
