package dev.kiln.diffusion.scheduler;

import ai.djl.ndarray.NDArray;

/**
 * Euler and Euler-ancestral sampling in k-diffusion's sigma space, as diffusers' {@code EulerDiscreteScheduler}
 * (with s_churn = 0) and {@code EulerAncestralDiscreteScheduler}.
 */
final class EulerSampler implements Sampler {

    private final String name;
    private final boolean ancestral;
    private final PredictionType predictionType;
    private final SigmaSteps steps;

    EulerSampler(String name, NoiseSchedule schedule, int steps, boolean ancestral) {
        this.name = name;
        this.ancestral = ancestral;
        this.predictionType = schedule.config().predictionType();
        this.steps = SigmaSteps.of(schedule, steps);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int steps() {
        return steps.timesteps().length;
    }

    @Override
    public double timestep(int i) {
        return steps.timesteps()[i];
    }

    /** The sigma of step i (i = steps gives the final 0). */
    float sigma(int i) {
        return steps.sigmas()[i];
    }

    @Override
    public float initNoiseSigma() {
        return steps.initNoiseSigma();
    }

    @Override
    public NDArray scaleModelInput(NDArray sample, int i) {
        return steps.scaleModelInput(sample, i);
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
