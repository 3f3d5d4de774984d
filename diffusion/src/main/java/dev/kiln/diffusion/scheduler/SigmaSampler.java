package dev.kiln.diffusion.scheduler;

import ai.djl.ndarray.NDArray;

/**
 * What every sampler in k-diffusion's sigma space shares: the name, the model's prediction type and the
 * sigma/timestep table; subclasses only implement {@link #step}.
 */
abstract class SigmaSampler implements Sampler {

    protected final String name;
    protected final PredictionType predictionType;
    private final SigmaSteps steps;

    SigmaSampler(String name, NoiseSchedule schedule, int steps) {
        this.name = name;
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
}
