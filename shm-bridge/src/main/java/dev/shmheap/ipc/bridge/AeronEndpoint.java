package dev.shmheap.ipc.bridge;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import org.agrona.CloseHelper;
import org.agrona.IoUtil;
import org.agrona.concurrent.BackoffIdleStrategy;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An Aeron client with, by default, its own embedded media driver: the driver's directory is
 * created under /dev/shm (else java.io.tmpdir) with a unique name and deleted when this closes.
 * With an external driver ({@code --aeron-dir}), only the client connects and nothing is deleted.
 *
 * <p>Embedded driver: {@link ThreadingMode#SHARED} (one agent thread for conductor, sender and
 * receiver) with a backoff idle strategy (spin, yield, then park up to 1 ms), because the hosts
 * this runs on in CI have two cores for producer, bridge, driver and consumer together. Over
 * UDP the driver is on the data path, so a driver that only sleeps (as the IPC benchmark's does)
 * would throttle it. A production setup runs a dedicated driver ({@code --aeron-dir}) tuned for
 * its host.
 */
public final class AeronEndpoint implements AutoCloseable {
    /** Idle strategy bounds of the embedded driver: max spins, max yields, min and max park. */
    private static final long MAX_SPINS = 100;
    private static final long MAX_YIELDS = 10;
    private static final long MIN_PARK_NANOS = 1_000;
    private static final long MAX_PARK_NANOS = 1_000_000;

    /** Name prefix of embedded drivers' directories: PREFIX + label + "-" + pid + "-" + nanoTime. */
    public static final String PREFIX = "shmheap-aeron-";

    private final MediaDriver driver;
    private final Aeron aeron;
    private final String directory;

    private AeronEndpoint(MediaDriver driver, Aeron aeron, String directory) {
        this.driver = driver;
        this.aeron = aeron;
        this.directory = directory;
    }

    /**
     * Connects to the driver in {@code externalDirectory}, or, if it is null, launches an
     * embedded one in a new directory whose name contains {@code label}.
     *
     * @param peerTimeoutNanos for an embedded driver, how long a peer may stay silent before
     *                         Aeron reports it gone: a publication's connection timeout (sender
     *                         side: NOT_CONNECTED from then on) and an image's liveness timeout
     *                         (receiver side: the image closes); 0 keeps Aeron's defaults (5 s, 10 s)
     */
    public static AeronEndpoint open(String externalDirectory, String label, long peerTimeoutNanos) {
        if (peerTimeoutNanos < 0) {
            throw new IllegalArgumentException("peerTimeoutNanos=" + peerTimeoutNanos + " must not be negative");
        }
        if (externalDirectory != null) {
            if (!Files.isDirectory(Path.of(externalDirectory))) {
                throw new IllegalArgumentException("aeron-dir=" + externalDirectory + " is not a directory: start the media driver"
                        + " there first, or leave --aeron-dir out for an embedded driver");
            }
            return new AeronEndpoint(null, Aeron.connect(new Aeron.Context().aeronDirectoryName(externalDirectory)), externalDirectory);
        }
        removeAbandonedDirectories();
        String directory = newDirectory(label).toString();
        MediaDriver.Context context = new MediaDriver.Context()
                .aeronDirectoryName(directory)
                .dirDeleteOnStart(true)
                .dirDeleteOnShutdown(true)
                .threadingMode(ThreadingMode.SHARED)
                .sharedIdleStrategy(new BackoffIdleStrategy(MAX_SPINS, MAX_YIELDS, MIN_PARK_NANOS, MAX_PARK_NANOS));
        if (peerTimeoutNanos > 0) {
            context.publicationConnectionTimeoutNs(peerTimeoutNanos).imageLivenessTimeoutNs(peerTimeoutNanos);
        }
        MediaDriver driver = MediaDriver.launch(context);
        try {
            return new AeronEndpoint(driver, Aeron.connect(new Aeron.Context().aeronDirectoryName(directory)), directory);
        } catch (RuntimeException e) {
            driver.close();
            throw e;
        }
    }

    /** A unique directory for an embedded driver: under /dev/shm if writable, else java.io.tmpdir. */
    public static Path newDirectory(String label) {
        return parentDirectory().resolve(PREFIX + label + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }

    private static Path parentDirectory() {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    /**
     * Deletes embedded-driver directories ({@code shmheap-aeron-LABEL-PID-NANOS}) whose process
     * no longer runs: a bridge killed with SIGKILL cannot delete its own, and each holds the
     * driver's log buffers (tens of MiB in /dev/shm). A directory whose pid runs again (reused)
     * is kept: better a stale directory than one deleted under a live driver.
     */
    public static void removeAbandonedDirectories() {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(parentDirectory(), PREFIX + "*")) {
            for (Path entry : entries) {
                String[] parts = entry.getFileName().toString().substring(PREFIX.length()).split("-");
                if (parts.length < 3) {
                    continue;
                }
                try {
                    long pid = Long.parseLong(parts[parts.length - 2]);
                    if (pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).isEmpty()) {
                        IoUtil.delete(entry.toFile(), true);
                    }
                } catch (NumberFormatException ignored) {
                    // not one of ours
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // best effort: a directory we cannot list or delete is left as it was
        }
    }

    public Aeron aeron() {
        return aeron;
    }

    public String directory() {
        return directory;
    }

    public boolean embedded() {
        return driver != null;
    }

    /** Closes the client, then the embedded driver, which deletes its directory. */
    @Override
    public void close() {
        CloseHelper.closeAll(aeron, driver);
    }

    /** The UDP channel URI for {@code host:port}, with {@code extra} URI parameters ("" for none, else "|name=value..."). */
    public static String udpChannel(String endpoint, String extra) {
        int colon = endpoint.lastIndexOf(':');
        if (colon <= 0 || colon == endpoint.length() - 1) {
            throw new IllegalArgumentException("endpoint=" + endpoint + " must be host:port, e.g. 127.0.0.1:40456");
        }
        try {
            int port = Integer.parseInt(endpoint.substring(colon + 1));
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("endpoint=" + endpoint + ": port must be in 1..65535");
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("endpoint=" + endpoint + ": port is not a number");
        }
        return "aeron:udp?endpoint=" + endpoint + extra;
    }
}
