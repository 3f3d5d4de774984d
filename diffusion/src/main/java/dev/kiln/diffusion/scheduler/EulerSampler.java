package dev.kiln.diffusion.scheduler;

import ai.djl.ndarray.NDArray;

/**
 * Euler and Euler-ancestral sampling in k-diffusion's sigma space, as diffusers' {@code EulerDiscreteScheduler}
 * (with s_churn = 0) and {@code EulerAncestralDiscreteScheduler}.
 */
final class EulerSampler extends SigmaSampler {

    private final boolean ancestral;

    EulerSampler(String name, NoiseSchedule schedule, int steps, boolean ancestral) {
        super(name, schedule, steps);
        this.ancestral = ancestral;
    }

    @Override
    public StepResult step(NDArray modelOutput, int i, NDArray sample, NoiseSource noise) {
        float sigma = sigma(i);
        float sigmaNext = sigma(i + 1);
        NDArray predOriginal = SigmaSteps.denoised(predictionType, modelOutput, sample, sigma);
        NDArray derivative = sample.sub(predOriginal).div(sigma);
        if (!ancestral) {
            return new StepResult(sample.add(derivative.mul(sigmaNext - sigma)), predOriginal);
        }
        // split the move to sigmaNext into a deterministic part (down) and fresh noise (up)
        float sigmaUp = (float) Math.sqrt(sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext)
                / (sigma * sigma));
        float sigmaDown = (float) Math.sqrt(sigmaNext * sigmaNext - sigmaUp * sigmaUp);
        NDArray prev = sample.add(derivative.mul(sigmaDown - sigma));
        NDArray fresh = noise.gaussian(sample.getManager(), sample.getShape());
        prev = prev.add(fresh.mul(sigmaUp));
        return new StepResult(prev, predOriginal);
    }
}
