package dev.kiln.diffusion.scheduler;

import ai.djl.ndarray.NDArray;

/**
 * What one sampler step produced.
 *
 * @param prevSample          the sample for the next step (x_{t-1})
 * @param predOriginalSample  the model's estimate of the clean sample x0 at this step
 */
public record StepResult(NDArray prevSample, NDArray predOriginalSample) {
}
