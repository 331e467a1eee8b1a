package dev.shmheap.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code shm-heap serve --port 0 ...} in a child JVM, as a user starts it; its first line of
 * output names the URL. Closing it sends SIGTERM (the shutdown hook stops the server) and waits.
 */
final class ServeProcess implements AutoCloseable {
    private static final Pattern URL = Pattern.compile("serving (http://\\S+/) for ");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private final Process process;
    private final Path err;
    final String url;

    private ServeProcess(Process process, Path err, String url) {
        this.process = process;
        this.err = err;
        this.url = url;
    }

    /** Starts serve with {@code arguments} (options and heap files) on a free port. */
    static ServeProcess start(String... arguments) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(dev.shmheap.JvmFlags.required());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), ShmHeapCli.class.getName(), "serve", "--port", "0"));
        command.addAll(List.of(arguments));
        Path err = Files.createTempFile("shmheap-serve-", ".err");
        Process process = new ProcessBuilder(command).redirectError(err.toFile()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String first = out.readLine();
        Matcher m = URL.matcher(first == null ? "" : first);
        if (!m.find()) {
            process.destroyForcibly();
            throw new IOException("serve did not start: " + first + " " + Files.readString(err));
        }
        return new ServeProcess(process, err, m.group(1));
    }

    /** GET {@code path} (without the leading slash); fails unless the status is {@code status}. */
    String get(String path, int status) throws IOException, InterruptedException {
        return get(url, path, status);
    }

    static String get(String url, String path, int status) throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != status) {
            throw new AssertionError("GET /" + path + ": status " + response.statusCode() + " instead of " + status + ": " + response.body());
        }
        return response.body();
    }

    /** What serve has written to stderr so far, line by line. */
    List<String> errorLines() throws IOException {
        return Files.readAllLines(err);
    }

    @Override
    public void close() throws Exception {
        Files.deleteIfExists(err);
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("serve did not stop on SIGTERM within 30 s");
        }
    }
}
