package dev.kiln.diffusion.model;

import java.nio.file.Path;

/**
 * Choices for {@link StableDiffusionLoader}: sd-scripts' {@code --v2} and {@code --v_parameterization} (null = infer
 * from the model), and, for single-file checkpoints, an optional diffusers folder whose {@code config.json} files
 * define the architecture (as diffusers' {@code from_single_file(config=...)}; needed where the head counts differ from
 * the Stable Diffusion defaults, which a checkpoint's tensors cannot show).
 */
public record LoadOptions(Boolean v2, Boolean vParameterization, Path configFolder) {

    /** Infer everything. */
    public static LoadOptions defaults() {
        return new LoadOptions(null, null, null);
    }

    public LoadOptions withV2(boolean value) {
        return new LoadOptions(value, vParameterization, configFolder);
    }

    public LoadOptions withVParameterization(boolean value) {
        return new LoadOptions(v2, value, configFolder);
    }

    public LoadOptions withConfigFolder(Path folder) {
        return new LoadOptions(v2, vParameterization, folder);
    }
}
