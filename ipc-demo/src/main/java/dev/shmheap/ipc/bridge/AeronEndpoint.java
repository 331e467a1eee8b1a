package dev.shmheap.ipc.bridge;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import org.agrona.CloseHelper;
import org.agrona.concurrent.BackoffIdleStrategy;

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
final class AeronEndpoint implements AutoCloseable {
    /** Idle strategy bounds of the embedded driver: max spins, max yields, min and max park. */
    private static final long MAX_SPINS = 100;
    private static final long MAX_YIELDS = 10;
    private static final long MIN_PARK_NANOS = 1_000;
    private static final long MAX_PARK_NANOS = 1_000_000;

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
    static AeronEndpoint open(String externalDirectory, String label, long peerTimeoutNanos) {
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
    static Path newDirectory(String label) {
        Path shm = Path.of("/dev/shm");
        Path parent = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
        return parent.resolve("shmheap-aeron-" + label + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }

    Aeron aeron() {
        return aeron;
    }

    String directory() {
        return directory;
    }

    boolean embedded() {
        return driver != null;
    }

    /** Closes the client, then the embedded driver, which deletes its directory. */
    @Override
    public void close() {
        CloseHelper.closeAll(aeron, driver);
    }

    /** The UDP channel URI for {@code host:port}, with {@code extra} URI parameters ("" for none, else "|name=value..."). */
    static String udpChannel(String endpoint, String extra) {
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
