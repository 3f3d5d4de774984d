package dev.kiln.diffusion.golden;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Locates the golden reference data ({@code -Dgolden.root}, default {@code ../shared/golden} from the repo root). */
public final class GoldenData {

    private static final ObjectMapper JSON = new ObjectMapper();

    private GoldenData() {
    }

    /**
     * The golden root: {@code -Dgolden.root}, else {@code ../shared/golden} or {@code ../../shared/golden} from the
     * working directory (the repository root or the module); fails the test when it does not exist.
     */
    public static Path root() {
        String property = System.getProperty("golden.root");
        List<Path> candidates = property != null && !property.isBlank() ? List.of(Path.of(property))
                : List.of(Path.of("..", "shared", "golden"), Path.of("..", "..", "shared", "golden"));
        for (Path candidate : candidates) {
            if (Files.isDirectory(candidate)) {
                return candidate.toAbsolutePath().normalize();
            }
        }
        throw new IllegalStateException("golden root " + candidates + " does not exist (set -Dgolden.root=DIR)");
    }

    /** Every folder directly under the root that holds a {@code manifest.json}, sorted by name. */
    public static List<Path> configFolders() {
        try (Stream<Path> children = Files.list(root())) {
            return children.filter(p -> Files.isRegularFile(p.resolve("manifest.json"))).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One config folder by name, e.g. {@code tiny-sd15}. */
    public static Path config(String name) {
        Path folder = root().resolve(name);
        if (!Files.isRegularFile(folder.resolve("manifest.json"))) {
            throw new IllegalStateException("no golden config " + folder);
        }
        return folder;
    }

    public static JsonNode manifest(Path configFolder) {
        return readJson(configFolder.resolve("manifest.json"));
    }

    public static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** The manifest entry of a file of this config, e.g. {@code golden/text_encoder.safetensors}. */
    public static JsonNode fileEntry(JsonNode manifest, String relativePath) {
        for (JsonNode f : manifest.path("files")) {
            if (f.path("path").asText().equals(relativePath)) {
                return f;
            }
        }
        throw new IllegalStateException("manifest " + manifest.path("config_name").asText()
                + " does not list " + relativePath);
    }
}
