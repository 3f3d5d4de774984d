package dev.kiln.diffusion.sampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.image.ImageTensors;
import dev.kiln.diffusion.scheduler.NoiseSource;
import dev.kiln.diffusion.scheduler.Sampler;
import dev.kiln.diffusion.scheduler.Samplers;
import dev.kiln.diffusion.scheduler.SchedulerConfig;
import java.awt.image.BufferedImage;
import java.security.SecureRandom;

/**
 * Text-to-image for one {@link SamplePrompt}: encode prompt and negative prompt, draw seeded initial latents,
 * run {@link GuidedSampling} with the named sampler, decode with the VAE and convert to an 8-bit RGB image.
 * The model parts come in as functions so that this class depends on no model class.
 */
public final class TextToImage {

    /** Text conditioning for one prompt, [1, tokens, width] (clip skip and long prompts are the encoder's job). */
    @FunctionalInterface
    public interface PromptEncoder {
        NDArray encode(String prompt, NDManager manager);
    }

    /** The VAE decoder: latents (already divided by the scaling factor) to an image tensor in [-1, 1]. */
    @FunctionalInterface
    public interface LatentDecoder {
        NDArray decode(NDArray latents);
    }

    /**
     * The latent space of the model.
     *
     * @param channels      UNet input channels (4 for SD 1.x/2.x)
     * @param downscale     VAE downscaling factor (8 for SD; 2^(VAE blocks - 1))
     * @param scalingFactor VAE scaling factor (0.18215 for SD 1.x/2.x)
     */
    public record LatentFormat(int channels, int downscale, float scalingFactor) {
    }

    /** The image and the seed that produced it (drawn at random when the prompt has none). */
    public record Generated(BufferedImage image, long seed) {
    }

    private final Denoiser denoiser;
    private final PromptEncoder encoder;
    private final LatentDecoder decoder;
    private final LatentFormat format;
    private final SchedulerConfig schedulerConfig;
    private final String defaultSampler;

    /**
     * @param schedulerConfig the schedule; {@link SchedulerConfig#kohya(boolean)} gives sd-scripts' samples
     * @param defaultSampler  used when the prompt names none (sd-scripts' {@code --sample_sampler}, default ddim)
     */
    public TextToImage(Denoiser denoiser, PromptEncoder encoder, LatentDecoder decoder, LatentFormat format,
                       SchedulerConfig schedulerConfig, String defaultSampler) {
        if (!Samplers.isSupported(defaultSampler)) {
            // fail early, with the list of names
            Samplers.create(defaultSampler, schedulerConfig, 1).close();
        }
        this.denoiser = denoiser;
        this.encoder = encoder;
        this.decoder = decoder;
        this.format = format;
        this.schedulerConfig = schedulerConfig;
        this.defaultSampler = defaultSampler;
    }

    /** Generates one image; arrays live in a sub-manager of {@code manager} and are freed before returning. */
    public Generated generate(SamplePrompt prompt, NDManager manager, StepListener listener) {
        int width = prompt.generatedWidth();
        int height = prompt.generatedHeight();
        if (width % format.downscale() != 0 || height % format.downscale() != 0) {
            throw new IllegalArgumentException("image size " + width + "x" + height
                    + " must be a multiple of the VAE factor " + format.downscale());
        }
        long seed = prompt.seed() != null ? prompt.seed() : new SecureRandom().nextLong() & 0xffffffffL;
        String samplerName = prompt.sampler() != null ? prompt.sampler() : defaultSampler;
        try (NDManager scope = manager.newSubManager();
             Sampler sampler = Samplers.create(samplerName, schedulerConfig, prompt.steps())) {
            NDArray conditioning = encoder.encode(prompt.prompt(), scope);
            NDArray negative = prompt.scale() > 1f
                    ? encoder.encode(prompt.negativePrompt() != null ? prompt.negativePrompt() : "", scope) : null;
            // one noise stream per seed: first the initial latents, then whatever the sampler draws
            NoiseSource noise = NoiseSource.seeded(seed);
            Shape latentShape = new Shape(1, format.channels(), height / format.downscale(),
                    width / format.downscale());
            NDArray initial = noise.gaussian(scope, latentShape);
            NDArray latents = GuidedSampling.sample(denoiser, sampler, conditioning, negative, prompt.scale(),
                    initial, noise, listener);
            NDArray decoded = decoder.decode(latents.div(format.scalingFactor()));
            decoded.attach(scope);
            return new Generated(ImageTensors.toImage(decoded), seed);
        }
    }
}
