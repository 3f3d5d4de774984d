package dev.kiln.cli.stack;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What {@code kiln up} is running, written to {@code .kiln/stack.json} for {@code kiln status}.
 * Holds no credentials.
 */
public record StackState(long cliPid, String startedAt, String kafkaBootstrap, String s3Endpoint, String bucket,
                         List<Entry> processes) {

    /** One child process. {@code url} is null for processes without an HTTP endpoint. */
    public record Entry(String name, long pid, String url, String healthUrl) {}

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    static Path file(Path dataDir) {
        return dataDir.resolve("stack.json");
    }

    void write(Path dataDir) {
        try {
            Files.createDirectories(dataDir);
            JSON.writeValue(file(dataDir).toFile(), this);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file(dataDir), e);
        }
    }

    static Optional<StackState> read(Path dataDir) {
        Path f = file(dataDir);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readValue(f.toFile(), StackState.class));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f, e);
        }
    }

    static void delete(Path dataDir) {
        try {
            Files.deleteIfExists(file(dataDir));
        } catch (IOException ignored) {
            // a stale file is detected by its dead pid anyway
        }
    }
}
