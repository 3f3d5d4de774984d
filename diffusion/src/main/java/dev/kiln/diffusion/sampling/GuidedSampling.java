package dev.kiln.diffusion.sampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.scheduler.NoiseSource;
import dev.kiln.diffusion.scheduler.Sampler;
import dev.kiln.diffusion.scheduler.StepResult;

/**
 * The denoising loop of text-to-image with classifier-free guidance, as diffusers' StableDiffusionPipeline
 * (and kohya's sample pipeline) run it: the model sees the negative and the positive conditioning as one
 * batch of two, and the guided prediction is {@code uncond + scale * (text - uncond)}. Guidance is skipped when
 * the scale is at most 1.
 */
public final class GuidedSampling {

    private GuidedSampling() {
    }

    /**
     * Runs every step of {@code sampler} and returns the final latents (owned by the manager of
     * {@code initialNoise}).
     *
     * @param denoiser      the model
     * @param sampler       a fresh sampler; it is not closed here
     * @param prompt        conditioning of the prompt, [B, tokens, width]
     * @param negative      conditioning of the negative prompt (same shape); unused when {@code guidanceScale <= 1}
     * @param guidanceScale CFG scale (kohya {@code --l}, default 7.5)
     * @param initialNoise  N(0,1) latents [B, C, h, w], scaled here by the sampler's initial sigma
     * @param noise         fresh noise for stochastic samplers
     * @param listener      called after every step
     */
    public static NDArray sample(Denoiser denoiser, Sampler sampler, NDArray prompt, NDArray negative,
                                 float guidanceScale, NDArray initialNoise, NoiseSource noise, StepListener listener) {
        boolean guided = guidanceScale > 1f;
        if (guided) {
            if (negative == null) {
                throw new IllegalArgumentException("guidance scale " + guidanceScale
                        + " needs a negative conditioning (an empty prompt's when there is no negative prompt)");
            }
            if (!negative.getShape().equals(prompt.getShape())) {
                throw new IllegalArgumentException("negative conditioning shape " + negative.getShape()
                        + " differs from the prompt's " + prompt.getShape());
            }
        }
        NDManager parent = initialNoise.getManager();
        try (NDManager loopScope = parent.newSubManager()) {
            NDArray conditioning = prompt;
            if (guided) {
                // diffusers order: negative first, then the prompt
                conditioning = NDArrays.concat(new NDList(negative, prompt), 0);
                conditioning.attach(loopScope);
            }
            NDArray latents = initialNoise.mul(sampler.initNoiseSigma());
            for (int i = 0; i < sampler.steps(); i++) {
                try (NDManager stepScope = parent.newSubManager()) {
                    latents.attach(stepScope); // the previous latents are no longer needed after this step
                    double t = sampler.timestep(i);
                    NDArray scaled = sampler.scaleModelInput(latents, i);
                    NDArray input = guided ? NDArrays.concat(new NDList(scaled, scaled), 0) : scaled;
                    input.attach(stepScope);
                    NDArray prediction = denoiser.predict(input, t, conditioning);
                    prediction.attach(stepScope);
                    NDArray uncond = null;
                    NDArray text = prediction;
                    NDArray guidedPrediction = prediction;
                    if (guided) {
                        NDList halves = prediction.split(2, 0);
                        uncond = halves.get(0);
                        text = halves.get(1);
                        guidedPrediction = uncond.add(text.sub(uncond).mul(guidanceScale));
                    }
                    StepResult result = sampler.step(guidedPrediction, i, latents, noise);
                    listener.onStep(new StepTrace(i, sampler.steps(), t, scaled, uncond, text, guidedPrediction,
                            result.prevSample(), result.predOriginalSample()));
                    NDArray next = result.prevSample();
                    next.attach(parent);
                    latents = next;
                }
            }
            return latents;
        }
    }
}
