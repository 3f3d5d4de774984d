package dev.kiln.sampler;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The sampler service's settings ({@code kiln.sampler.*}). */
@ConfigMapping(prefix = "kiln.sampler")
public interface SamplerConfig {

    /** Where base models and checkpoints are downloaded before loading (file names are hashes). */
    @WithDefault("${java.io.tmpdir}/kiln-sampler")
    String workDir();

    /** Base models kept loaded in memory, least recently used dropped first. */
    @WithDefault("1")
    int cachedModels();

    /** Largest image a prompt may ask for ({@code --w} × {@code --h}, after rounding), in pixels. */
    @WithDefault("4194304")
    long maxPixels();

    /** Most prompts one request may carry. */
    @WithDefault("64")
    int maxPrompts();
}
