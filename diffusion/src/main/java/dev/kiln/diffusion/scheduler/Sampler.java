package dev.kiln.diffusion.scheduler;

import ai.djl.ndarray.NDArray;

/**
 * One inference run of a diffusion sampler (a diffusers scheduler after {@code set_timesteps(steps)}).
 * A sampler is stateful (multistep solvers keep previous predictions): create one per image batch, call
 * {@link #step} for i = 0 .. steps-1 in order, then close it.
 *
 * <p>Loop: {@code x = noise * initNoiseSigma()}; for each i: {@code out = model(scaleModelInput(x, i),
 * timestep(i))}; {@code x = step(out, i, x, noise).prevSample()}.
 */
public interface Sampler extends AutoCloseable {

    /** The sd-scripts name this sampler was created under. */
    String name();

    /** Number of inference steps. */
    int steps();

    /** The timestep fed to the model at step i (whole numbers for most samplers, fractional for Euler). */
    double timestep(int i);

    /** All model timesteps, in sampling order. */
    default double[] timesteps() {
        double[] out = new double[steps()];
        for (int i = 0; i < out.length; i++) {
            out[i] = timestep(i);
        }
        return out;
    }

    /** The factor that turns N(0,1) noise into the initial sample. */
    float initNoiseSigma();

    /** Scales the current sample into what the model expects at step i (identity for DDPM-style samplers). */
    NDArray scaleModelInput(NDArray sample, int i);

    /**
     * Advances the sample by one step.
     *
     * @param modelOutput the model's (guided) prediction for {@code scaleModelInput(sample, i)}
     * @param i           step index, 0-based, called in order
     * @param sample      the current sample x
     * @param noise       source of fresh N(0,1) noise for stochastic samplers
     */
    StepResult step(NDArray modelOutput, int i, NDArray sample, NoiseSource noise);

    /** Releases any state the sampler keeps between steps. */
    @Override
    default void close() {
    }
}
