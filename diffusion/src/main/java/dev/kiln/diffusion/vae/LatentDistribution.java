package dev.kiln.diffusion.vae;

import ai.djl.ndarray.NDArray;

/**
 * The VAE posterior: a diagonal Gaussian with {@code mean} and {@code logvar} (clamped to [-30, 20] as in
 * diffusers) per latent element, both {@code [B,latent,h,w]}.
 */
public record LatentDistribution(NDArray mean, NDArray logvar) implements AutoCloseable {

    /** {@code exp(0.5 * logvar)}. */
    public NDArray std() {
        return logvar.mul(0.5f).exp();
    }

    /** {@code mean + std * eps} for caller-supplied standard normal noise {@code eps} (unscaled latents). */
    public NDArray sample(NDArray eps) {
        try (NDArray std = std(); NDArray scaled = std.mul(eps)) {
            return mean.add(scaled);
        }
    }

    @Override
    public void close() {
        mean.close();
        logvar.close();
    }
}
