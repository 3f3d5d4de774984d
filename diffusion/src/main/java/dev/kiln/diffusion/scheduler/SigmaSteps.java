package dev.kiln.diffusion.scheduler;

import ai.djl.ndarray.NDArray;

/**
 * The k-diffusion view shared by the Euler, Euler-ancestral and LMS samplers: float32 timesteps, the noise
 * level of each (interpolated in the training sigma table, plus a final 0) and the initial noise scale, as
 * diffusers' {@code set_timesteps} of those schedulers builds them.
 *
 * @param timesteps      model timesteps (fractional for "linspace")
 * @param sigmas         steps + 1 noise levels, the last one 0
 * @param initNoiseSigma sigma_max, or sqrt(sigma_max^2 + 1) for "leading" spacing
 */
record SigmaSteps(float[] timesteps, float[] sigmas, float initNoiseSigma) {

    static SigmaSteps of(NoiseSchedule schedule, int steps) {
        SchedulerConfig config = schedule.config();
        int numTrain = schedule.numTrainTimesteps();
        SamplingTables.checkSteps(steps, numTrain);
        TimestepSpacing spacing = config.spacingOr(TimestepSpacing.LINSPACE);
        double[] raw = SamplingTables.timesteps(spacing, numTrain, steps, steps, config.stepsOffset());
        if (spacing == TimestepSpacing.LEADING) {
            raw = SamplingTables.rint(raw);
        }
        float[] table = schedule.sigmas();
        float[] timesteps = new float[steps];
        float[] sigmas = new float[steps + 1];
        float max = 0;
        for (int i = 0; i < steps; i++) {
            timesteps[i] = (float) raw[i]; // diffusers keeps float32 timesteps and interpolates at those
            sigmas[i] = (float) SamplingTables.interpolate(table, timesteps[i]);
            max = Math.max(max, sigmas[i]);
        }
        sigmas[steps] = 0f;
        // the initial sample is sigma_max * N(0,1); "leading" adds the unit variance of the data
        float init = spacing == TimestepSpacing.LEADING ? (float) Math.sqrt(max * max + 1f) : max;
        return new SigmaSteps(timesteps, sigmas, init);
    }

    /** The model input at step i: {@code x / sqrt(sigma^2 + 1)}. */
    NDArray scaleModelInput(NDArray sample, int i) {
        float sigma = sigmas[i];
        return sample.div((float) Math.sqrt(sigma * sigma + 1f));
    }

    /** The x0 estimate ("denoised") from a model output at noise level sigma. */
    static NDArray denoised(PredictionType type, NDArray modelOutput, NDArray sample, float sigma) {
        return switch (type) {
            case EPSILON -> sample.sub(modelOutput.mul(sigma));
            case V_PREDICTION -> modelOutput.mul(-sigma / (float) Math.sqrt(sigma * sigma + 1f))
                    .add(sample.div(sigma * sigma + 1f));
            case SAMPLE -> modelOutput;
        };
    }
}
