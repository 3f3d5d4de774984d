package dev.kiln.diffusion.golden;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.model.LoadOptions;
import dev.kiln.diffusion.model.StableDiffusionLoader;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.nn.GoldenTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One golden config folder as the check groups see it: its manifest, its golden files, and the model loaded through
 * both paths (the diffusers folder, and the original single file with the folder's configs for the architecture).
 * Models are loaded on first use into this config's manager, which is closed after all groups ran.
 */
public final class GoldenConfig implements AutoCloseable {

    /** Loading path names used in reports. */
    public static final String DIFFUSERS = "diffusers";
    public static final String SINGLE_FILE = "single-file";

    private final Path folder;
    private final JsonNode manifest;
    private final NDManager manager;
    private Map<String, StableDiffusionModel> models;

    public GoldenConfig(Path folder) {
        this.folder = folder;
        this.manifest = GoldenData.manifest(folder);
        this.manager = NDManager.newBaseManager();
    }

    public String name() {
        return folder.getFileName().toString();
    }

    public Path folder() {
        return folder;
    }

    public JsonNode manifest() {
        return manifest;
    }

    /** {@code manifest.parameters} (clip_skip, prediction_type, guidance_scale, ...). */
    public JsonNode parameters() {
        return manifest.path("parameters");
    }

    /** The manager the models live in; use sub-managers or scopes for per-check arrays. */
    public NDManager manager() {
        return manager;
    }

    public Path diffusersFolder() {
        return folder.resolve("diffusers");
    }

    /** The original single-file checkpoint ({@code original/*.safetensors}). */
    public Path singleFile() {
        try (var files = Files.list(folder.resolve("original"))) {
            return files.filter(p -> p.toString().endsWith(".safetensors")).findFirst()
                    .orElseThrow(() -> new IllegalStateException(folder + "/original has no .safetensors file"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The model through both loading paths, keyed {@link #DIFFUSERS} and {@link #SINGLE_FILE}. */
    public synchronized Map<String, StableDiffusionModel> models() {
        if (models == null) {
            Map<String, StableDiffusionModel> loaded = new LinkedHashMap<>();
            loaded.put(DIFFUSERS, StableDiffusionLoader.load(diffusersFolder(), manager));
            loaded.put(SINGLE_FILE, StableDiffusionLoader.load(singleFile(), manager,
                    LoadOptions.defaults().withConfigFolder(diffusersFolder())));
            models = loaded;
        }
        return models;
    }

    /** Opens {@code golden/<fileName>} with its manifest tolerances; close it after use. */
    public GoldenTensors golden(String fileName) {
        return new GoldenTensors(folder, fileName);
    }

    public boolean hasGolden(String fileName) {
        return Files.isRegularFile(folder.resolve("golden").resolve(fileName));
    }

    @Override
    public void close() {
        manager.close();
    }
}
