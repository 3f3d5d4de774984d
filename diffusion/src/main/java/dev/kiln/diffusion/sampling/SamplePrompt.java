package dev.kiln.diffusion.sampling;

/**
 * One image to generate, with sd-scripts' sample-prompt fields and defaults
 * ({@code train_util.py sample_image_inference}).
 *
 * @param prompt         the prompt
 * @param negativePrompt {@code --n}; {@code null} = none (the empty prompt conditions the unguided half)
 * @param width          {@code --w}, default 512
 * @param height         {@code --h}, default 512
 * @param seed           {@code --d}; {@code null} = a random seed
 * @param steps          {@code --s}, default 30
 * @param scale          {@code --l}, classifier-free guidance scale, default 7.5
 * @param sampler        {@code --ss}; {@code null} = the run's default sampler
 */
public record SamplePrompt(String prompt, String negativePrompt, int width, int height, Long seed, int steps,
                           float scale, String sampler) {

    public static final int DEFAULT_SIZE = 512;
    public static final int DEFAULT_STEPS = 30;
    public static final float DEFAULT_SCALE = 7.5f;

    public SamplePrompt {
        if (prompt == null) {
            throw new IllegalArgumentException("prompt is required");
        }
    }

    /** A prompt with every option at its default. */
    public static SamplePrompt of(String prompt) {
        return new SamplePrompt(prompt, null, DEFAULT_SIZE, DEFAULT_SIZE, null, DEFAULT_STEPS, DEFAULT_SCALE, null);
    }

    /**
     * The prompt as a run renders it: {@code --ss}, else the run's {@code defaultSampler}, and DDIM when that name is
     * unknown (sd-scripts' fallback); {@code --d}, else {@code seedIfNone}.
     */
    public SamplePrompt resolved(String defaultSampler, long seedIfNone) {
        String name = sampler != null ? sampler : defaultSampler;
        if (name == null || !dev.kiln.diffusion.scheduler.Samplers.isSupported(name)) {
            name = dev.kiln.diffusion.scheduler.Samplers.SD_SCRIPTS_DEFAULT;
        }
        return new SamplePrompt(prompt, negativePrompt, width, height, seed != null ? seed : seedIfNone, steps, scale,
                name);
    }

    /**
     * The prompt as one sd-scripts prompt line ({@code prompt --n ... --w 512 --h 512 --d 42 --s 30 --l 7.5 --ss
     * euler_a}) that {@link SamplePrompts#parseLine} reads back to this record; how a prompt from a {@code .json} or
     * {@code .toml} prompts file travels in a {@code kiln.samples.requested} event.
     */
    public String toLine() {
        StringBuilder line = new StringBuilder(prompt);
        if (negativePrompt != null) {
            line.append(" --n ").append(negativePrompt);
        }
        line.append(" --w ").append(width).append(" --h ").append(height);
        if (seed != null) {
            line.append(" --d ").append(seed);
        }
        line.append(" --s ").append(steps).append(" --l ").append(scale);
        if (sampler != null) {
            line.append(" --ss ").append(sampler);
        }
        return line.toString();
    }

    /** The width actually generated: rounded down to a multiple of 8, at least 64 (as sd-scripts does). */
    public int generatedWidth() {
        return roundSize(width);
    }

    /** The height actually generated: rounded down to a multiple of 8, at least 64. */
    public int generatedHeight() {
        return roundSize(height);
    }

    private static int roundSize(int size) {
        return Math.max(64, size - Math.floorMod(size, 8));
    }
}
