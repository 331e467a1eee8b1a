package dev.shmheap.bench.messaging;

import dev.shmheap.JvmFlags;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The other side of a measurement: a child JVM running {@link Peer} with one role. Its stdout
 * and stderr go to this process's (a peer prints nothing on success, so the table on stdout
 * stays clean); its stdin is a pipe, and a peer that must outlive its last message (a
 * sender whose messages may still be in flight) waits for {@link #release()}.
 */
final class PeerJvm implements AutoCloseable {
    /**
     * JVM options of every peer JVM, whichever transport it runs, so both are measured alike:
     * shm-heap's {@code --add-opens}/{@code --add-exports} (which already open
     * {@code sun.nio.ch}, Aeron's need), plus what Aeron's own sample scripts
     * ({@code aeron-samples/scripts/java-common}, {@code embedded-ping-pong}) use on Java 17:
     * {@code --add-opens java.base/java.util.zip}, {@code -Dagrona.disable.bounds.checks=true},
     * {@code -XX:GuaranteedSafepointInterval=300000}.
     */
    static final List<String> BENCH_JVM_OPTIONS = List.of(
            "--add-opens=java.base/java.util.zip=ALL-UNNAMED",
            "-Dagrona.disable.bounds.checks=true",
            "-XX:+UnlockDiagnosticVMOptions",
            "-XX:GuaranteedSafepointInterval=300000",
            "-Xms256m", "-Xmx256m");

    private final Process process;
    private final String role;

    private PeerJvm(Process process, String role) {
        this.process = process;
        this.role = role;
    }

    static List<String> command(List<String> peerArgs) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JvmFlags.required());
        command.addAll(BENCH_JVM_OPTIONS);
        command.add("-cp");
        command.add(classpath());
        command.add(Peer.class.getName());
        command.addAll(peerArgs);
        return command;
    }

    /** Starts {@code Peer role args...}. */
    static PeerJvm start(String role, String... args) throws IOException {
        List<String> peerArgs = new ArrayList<>();
        peerArgs.add(role);
        peerArgs.addAll(List.of(args));
        Process process = new ProcessBuilder(command(peerArgs))
                .redirectInput(ProcessBuilder.Redirect.PIPE)
                .redirectOutput(ProcessBuilder.Redirect.INHERIT)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        return new PeerJvm(process, role);
    }

    /**
     * The classpath to give the peer: the real one. Under surefire with a manifest-only booter
     * jar, java.class.path names only that jar, so prefer surefire's property when present.
     */
    static String classpath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path");
    }

    /** Throws if the peer has already exited (it failed to start or gave up). */
    void checkAlive() {
        if (!process.isAlive()) {
            throw new IllegalStateException("peer '" + role + "' exited early with status " + process.exitValue());
        }
    }

    /** Tells a peer waiting on its stdin that it may exit. */
    void release() {
        try {
            OutputStream in = process.getOutputStream();
            in.write("done\n".getBytes(StandardCharsets.US_ASCII));
            in.flush();
            in.close();
        } catch (IOException e) {
            // it has exited already; finish() reports its status
        }
    }

    /** Waits for the peer to exit; throws unless it exited with status 0. */
    void finish() throws InterruptedException {
        release();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("peer '" + role + "' did not exit within 60 s");
        }
        if (process.exitValue() != 0) {
            throw new IllegalStateException("peer '" + role + "' exited with status " + process.exitValue());
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
