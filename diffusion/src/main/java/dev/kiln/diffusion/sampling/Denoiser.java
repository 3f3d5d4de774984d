package dev.kiln.diffusion.sampling;

import ai.djl.ndarray.NDArray;

/**
 * The model call inside the sampling loop, e.g. a UNet: keeps the loop independent of the model class.
 * It returns whatever the model predicts (epsilon or v); the sampler's {@code prediction_type} must match.
 */
@FunctionalInterface
public interface Denoiser {

    /**
     * @param latentModelInput the scaled latents, [B, C, h, w]
     * @param timestep         the sampler's timestep (fractional for Euler samplers)
     * @param conditioning     text conditioning, [B, tokens, width]
     * @return the prediction, same shape as {@code latentModelInput}
     */
    NDArray predict(NDArray latentModelInput, double timestep, NDArray conditioning);
}
