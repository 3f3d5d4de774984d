package dev.kiln.diffusion.scheduler;

import ai.djl.ndarray.NDArray;

/**
 * Deterministic DDIM (eta = 0), as diffusers' {@code DDIMScheduler.step}: Song et al. 2020, formula (12).
 * Coefficients are float32 like diffusers' tensors.
 */
final class DdimSampler implements Sampler {

    private final String name;
    private final SchedulerConfig config;
    private final float[] alphasCumprod;
    private final float finalAlphaCumprod;
    private final int[] timesteps;

    DdimSampler(String name, NoiseSchedule schedule, int steps) {
        this.name = name;
        this.config = schedule.config();
        int numTrain = schedule.numTrainTimesteps();
        SamplingTables.checkSteps(steps, numTrain);
        this.alphasCumprod = schedule.alphasCumprod();
        this.finalAlphaCumprod = config.setAlphaToOne() ? 1f : alphasCumprod[0];
        double[] raw = SamplingTables.rint(SamplingTables.timesteps(
                config.spacingOr(TimestepSpacing.LEADING), numTrain, steps, steps, config.stepsOffset()));
        this.timesteps = new int[steps];
        for (int i = 0; i < steps; i++) {
            int t = (int) raw[i];
            if (t < 0 || t >= numTrain) {
                throw new IllegalArgumentException("DDIM timestep " + t + " at step " + i + " is outside 0.."
                        + (numTrain - 1) + " (steps_offset " + config.stepsOffset() + ")");
            }
            timesteps[i] = t;
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int steps() {
        return timesteps.length;
    }

    @Override
    public double timestep(int i) {
        return timesteps[i];
    }

    @Override
    public float initNoiseSigma() {
        return 1f;
    }

    @Override
    public NDArray scaleModelInput(NDArray sample, int i) {
        return sample;
    }

    @Override
    public StepResult step(NDArray modelOutput, int i, NDArray sample, NoiseSource noise) {
        int t = timesteps[i];
        // the previous timestep is always t - N // steps, whatever the spacing (diffusers does the same)
        int prevT = t - config.numTrainTimesteps() / timesteps.length;
        float alphaProd = alphasCumprod[t];
        float alphaProdPrev = prevT >= 0 ? alphasCumprod[prevT] : finalAlphaCumprod;
        float betaProd = 1f - alphaProd;
        float sqrtAlpha = (float) Math.sqrt(alphaProd);
        float sqrtBeta = (float) Math.sqrt(betaProd);

        NDArray predOriginal;
        NDArray predEpsilon;
        switch (config.predictionType()) {
            case EPSILON -> {
                predOriginal = sample.sub(modelOutput.mul(sqrtBeta)).div(sqrtAlpha);
                predEpsilon = modelOutput;
            }
            case SAMPLE -> {
                predOriginal = modelOutput;
                predEpsilon = sample.sub(predOriginal.mul(sqrtAlpha)).div(sqrtBeta);
            }
            case V_PREDICTION -> {
                predOriginal = sample.mul(sqrtAlpha).sub(modelOutput.mul(sqrtBeta));
                predEpsilon = modelOutput.mul(sqrtAlpha).add(sample.mul(sqrtBeta));
            }
            default -> throw new IllegalStateException(config.predictionType().name());
        }
        if (config.clipSample()) {
            predOriginal = predOriginal.clip(-config.clipSampleRange(), config.clipSampleRange());
        }
        float direction = (float) Math.sqrt(1f - alphaProdPrev);
        NDArray prev = predOriginal.mul((float) Math.sqrt(alphaProdPrev)).add(predEpsilon.mul(direction));
        return new StepResult(prev, predOriginal);
    }
}
