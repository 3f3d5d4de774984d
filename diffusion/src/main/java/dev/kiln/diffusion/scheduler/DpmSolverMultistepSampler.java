package dev.kiln.diffusion.scheduler;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * DPM-Solver++(2M) (Lu et al. 2022, arXiv 2211.01095), as diffusers' {@code DPMSolverMultistepScheduler} with
 * {@code algorithm_type="dpmsolver++"}, {@code solver_order=2}, {@code solver_type="midpoint"},
 * {@code lower_order_final=True} and {@code final_sigmas_type="zero"}; optionally on Karras sigmas.
 * It works on the unscaled (variance-preserving) sample and integer timesteps.
 */
final class DpmSolverMultistepSampler implements Sampler {

    private final String name;
    private final PredictionType predictionType;
    private final double[] timesteps;
    /** steps + 1 noise levels, the last one 0. */
    private final float[] sigmas;

    private NDManager history;
    private NDArray previousX0;
    private int lowerOrderCount;
    private int nextStep;

    DpmSolverMultistepSampler(String name, NoiseSchedule schedule, int steps, boolean karras) {
        this.name = name;
        SchedulerConfig config = schedule.config();
        this.predictionType = config.predictionType();
        int numTrain = schedule.numTrainTimesteps();
        SamplingTables.checkSteps(steps, numTrain);
        float[] table = schedule.sigmas();
        this.sigmas = new float[steps + 1];
        if (karras) {
            float[] logSigmas = new float[table.length];
            for (int t = 0; t < table.length; t++) {
                logSigmas[t] = (float) Math.log(table[t]);
            }
            double[] levels = SamplingTables.karras(table[0], table[table.length - 1], steps);
            this.timesteps = new double[steps];
            for (int i = 0; i < steps; i++) {
                timesteps[i] = Math.rint(SamplingTables.sigmaToTimestep(levels[i], logSigmas));
                sigmas[i] = (float) levels[i];
            }
        } else {
            this.timesteps = SamplingTables.rint(SamplingTables.timesteps(config.spacingOr(TimestepSpacing.LINSPACE),
                    numTrain, steps, steps + 1, config.stepsOffset()));
            for (int i = 0; i < steps; i++) {
                if (timesteps[i] < 0 || timesteps[i] >= numTrain) {
                    throw new IllegalArgumentException("DPM-Solver timestep " + timesteps[i] + " at step " + i
                            + " is outside 0.." + (numTrain - 1));
                }
                sigmas[i] = table[(int) timesteps[i]];
            }
        }
        sigmas[steps] = 0f;
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

    /** The sigma of step i (i = steps gives the final 0). */
    float sigma(int i) {
        return sigmas[i];
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
        if (i != nextStep) {
            throw new IllegalStateException(name + " is a multistep solver: expected step " + nextStep + ", got " + i);
        }
        int steps = timesteps.length;
        NDArray x0 = dataPrediction(modelOutput, sample, sigmas[i]);

        float sigmaS = sigmas[i];
        float sigmaT = sigmas[i + 1];
        float alphaT = alpha(sigmaT);
        float lambdaT = lambda(sigmaT);
        float lambdaS = lambda(sigmaS);
        float h = lambdaT - lambdaS;
        // with final sigma 0: lambdaT = +inf, exp(-h) = 0, so the last step returns the x0 prediction
        float expm = alphaT * ((float) Math.exp(-h) - 1f);
        float ratio = (sigmaT * alphaT) / (sigmaS * alpha(sigmaS));

        // the final step (onto sigma 0) is always first order, as diffusers does with final_sigmas_type "zero"
        boolean lastStep = i == steps - 1;
        NDArray prev;
        if (lowerOrderCount < 1 || lastStep) {
            prev = sample.mul(ratio).sub(x0.mul(expm));
        } else {
            // second order, midpoint form: D1 = (m0 - m1) / r0 with r0 = h_prev / h
            float sigmaPrev = sigmas[i - 1];
            float r0 = (lambdaS - lambda(sigmaPrev)) / h;
            NDArray d1 = x0.sub(previousX0).mul(1f / r0);
            prev = sample.mul(ratio).sub(x0.mul(expm)).sub(d1.mul(0.5f * expm));
        }
        remember(x0);
        if (lowerOrderCount < 2) {
            lowerOrderCount++;
        }
        nextStep++;
        return new StepResult(prev, x0);
    }

    private NDArray dataPrediction(NDArray modelOutput, NDArray sample, float sigma) {
        float alpha = alpha(sigma);
        float sigmaT = sigma * alpha;
        return switch (predictionType) {
            case EPSILON -> sample.sub(modelOutput.mul(sigmaT)).div(alpha);
            case V_PREDICTION -> sample.mul(alpha).sub(modelOutput.mul(sigmaT));
            case SAMPLE -> modelOutput;
        };
    }

    /** Keeps this step's x0 prediction for the next step, in a manager the caller's per-step scopes don't close. */
    private void remember(NDArray x0) {
        if (history == null) {
            history = NDManager.newBaseManager(x0.getDevice());
        }
        NDArray kept = x0.duplicate();
        kept.attach(history);
        if (previousX0 != null) {
            previousX0.close();
        }
        previousX0 = kept;
    }

    /** alpha_t = 1 / sqrt(sigma^2 + 1) of the variance-preserving process with this k-diffusion sigma. */
    private static float alpha(float sigma) {
        return 1f / (float) Math.sqrt(sigma * sigma + 1f);
    }

    /** lambda = log(alpha_t) - log(sigma_t), the half log-SNR. */
    private static float lambda(float sigma) {
        float alpha = alpha(sigma);
        return (float) Math.log(alpha) - (float) Math.log(sigma * alpha);
    }

    @Override
    public void close() {
        if (history != null) {
            history.close();
            history = null;
            previousX0 = null;
        }
    }
}
