package dev.shmheap;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Whether an opened heap file may be trusted: the rules of {@link AttachOption}, applied to the
 * file's owner and mode as read through its descriptor.
 *
 * <p>Rules, in the order checked (each refusal names the file, owner uid against ours, group,
 * and mode in octal):
 * <ol>
 *   <li>not a regular file: refused always (it cannot be a heap, and a FIFO would block);</li>
 *   <li>others may write it ({@code o+w}): refused;</li>
 *   <li>owned by another uid: refused unless its owner shared it with a group this process is
 *       in (effective or supplementary gid): the group may read it, as it may read and write a
 *       heap {@link CreateOption#GROUP_ACCESS} creates, or a 0640 heap its owner lets a group of
 *       observers read;</li>
 *   <li>ours, but its group may write it and this process is not in that group: refused
 *       (a group heap is always of a group its creator is in).</li>
 * </ol>
 * The heap records no group intent of its own: group access, which GROUP_ACCESS sets, is taken
 * as "created for the group"; opening read-write still needs the group's write permission,
 * which the kernel checks. Root gets no exemption (see {@link AttachOption}).
 */
final class FileTrust {
    private static final int OTHERS_WRITE = 0002;
    private static final int GROUP_WRITE = 0020;
    private static final int GROUP_READ = 0040;
    private static final int PERMISSION_BITS = 07777;
    private static final String ATTRIBUTES = "unix:uid,gid,mode,isRegularFile,isDirectory";

    private FileTrust() {
    }

    /**
     * Refuses the file {@code handle} has open unless it is a regular file that passes the
     * rules above or {@code options} trust any file.
     *
     * @throws UntrustedHeapFileException naming what was found
     * @throws FileSystemException        if it is not a regular file
     */
    static void check(HeapFileHandle handle, Set<AttachOption> options) throws IOException {
        Map<String, Object> attributes = Files.readAttributes(handle.descriptorPath(), ATTRIBUTES);
        String file = handle.file().toString();
        if (!(Boolean) attributes.get("isRegularFile")) {
            throw new FileSystemException(file, null, (Boolean) attributes.get("isDirectory") ? "Is a directory" : "not a regular file");
        }
        if (options.contains(AttachOption.TRUST_ANY_FILE)) {
            return;
        }
        String refusal = refusal((Integer) attributes.get("uid"), (Integer) attributes.get("gid"),
                (Integer) attributes.get("mode") & PERMISSION_BITS, Identity.CURRENT);
        if (refusal != null) {
            throw new UntrustedHeapFileException(file, refusal);
        }
    }

    /** Why a file of this owner, group and mode is refused to {@code us}, or null if it is trusted. */
    static String refusal(int uid, int gid, int mode, Identity us) {
        String found = " (owner uid " + uid + ", this process uid " + us.uid() + ", group gid " + gid + ", mode 0"
                + Integer.toOctalString(mode) + ")";
        if ((mode & OTHERS_WRITE) != 0) {
            return "every user may write it" + found;
        }
        boolean inGroup = us.isInGroup(gid);
        if (uid != us.uid() && !((mode & GROUP_READ) != 0 && inGroup)) {
            return "it is owned by another user and not shared with a group this process is in" + found;
        }
        if ((mode & GROUP_WRITE) != 0 && !inGroup) {
            return "its group may write it and this process is not in that group" + found;
        }
        return null;
    }

    /** The effective uid, effective gid and supplementary gids of a process. */
    record Identity(int uid, int gid, int[] groups) {
        /** This process, read once from {@code /proc/self/status} (a JVM does not change its ids). */
        static final Identity CURRENT = ofStatus(Path.of("/proc/self/status"));

        boolean isInGroup(int candidate) {
            return candidate == gid || Arrays.stream(groups).anyMatch(g -> g == candidate);
        }

        /** Reads the "Uid:", "Gid:" (real, effective, saved, fs) and "Groups:" lines of a proc status file. */
        static Identity ofStatus(Path status) {
            try {
                List<String> lines = Files.readAllLines(status);
                return new Identity(effective(field(lines, "Uid:")), effective(field(lines, "Gid:")),
                        Arrays.stream(field(lines, "Groups:")).mapToInt(Integer::parseInt).toArray());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read this process's user and groups from " + status, e);
            }
        }

        private static String[] field(List<String> lines, String name) throws IOException {
            for (String line : lines) {
                if (line.startsWith(name)) {
                    String value = line.substring(name.length()).trim();
                    return value.isEmpty() ? new String[0] : value.split("\\s+");
                }
            }
            throw new IOException("no " + name + " line");
        }

        private static int effective(String[] ids) throws IOException {
            if (ids.length < 2) {
                throw new IOException("expected real and effective ids, found " + Arrays.toString(ids));
            }
            return Integer.parseInt(ids[1]);
        }
    }
}
