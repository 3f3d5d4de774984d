package dev.kiln.diffusion.sampling;

import ai.djl.ndarray.NDArray;

/**
 * What happened in one sampling step, handed to a {@link StepListener}. The arrays are only valid during the
 * callback (they are closed when the step ends): copy what must be kept.
 *
 * @param step              0-based step index
 * @param steps             total number of steps
 * @param timestep          the timestep given to the model
 * @param latentModelInput  the scaled latents the model saw (one copy; with guidance both halves are equal)
 * @param noisePredUncond   the prediction for the negative prompt, {@code null} without guidance
 * @param noisePredText     the prediction for the prompt
 * @param noisePred         the guided prediction given to the sampler
 * @param latents           the latents after this step
 * @param predOriginal      the sampler's estimate of the clean latents at this step
 */
public record StepTrace(int step, int steps, double timestep, NDArray latentModelInput, NDArray noisePredUncond,
                        NDArray noisePredText, NDArray noisePred, NDArray latents, NDArray predOriginal) {
}
