package dev.kiln.diffusion.train.latent;

import dev.kiln.model.dataset.DatasetPlan;

/** Where the training loop gets each sample's latents from (a local cache, or one filled by the latent-cache service). */
public interface LatentSource {

    /**
     * The latents [C, h, w] of {@code image} at its planned bucket, as the VAE sampled them (before the scaling
     * factor), channel-major.
     */
    float[] latents(DatasetPlan.Image image, boolean flip);
}
