package dev.kiln.diffusion.scheduler;

/**
 * Timestep and sigma tables for inference, following diffusers 0.27 {@code set_timesteps} (numpy float64
 * arithmetic, round half to even as {@code np.round}).
 */
final class SamplingTables {

    private SamplingTables() {
    }

    static void checkSteps(int steps, int numTrainTimesteps) {
        if (steps < 1 || steps > numTrainTimesteps) {
            throw new IllegalArgumentException("steps must be in 1.." + numTrainTimesteps + ", got " + steps);
        }
    }

    /**
     * Descending timesteps for {@code steps} steps. {@code intervals} is the number of intervals the range is cut
     * into: {@code steps} for DDIM and Euler, {@code steps + 1} for DPM-Solver (which drops the final 0).
     */
    static double[] timesteps(TimestepSpacing spacing, int numTrain, int steps, int intervals, int stepsOffset) {
        double[] out = new double[steps];
        switch (spacing) {
            case LINSPACE -> {
                double[] grid = NoiseSchedule.linspace(0, numTrain - 1, intervals);
                for (int i = 0; i < steps; i++) {
                    out[i] = grid[intervals - 1 - i];
                }
            }
            case LEADING -> {
                int ratio = numTrain / intervals;
                for (int i = 0; i < steps; i++) {
                    out[i] = (double) (intervals - 1 - i) * ratio + stepsOffset;
                }
            }
            case TRAILING -> {
                // np.arange(numTrain, 0, -numTrain/steps) then -1: counts down from the last training step
                double ratio = (double) numTrain / steps;
                for (int i = 0; i < steps; i++) {
                    out[i] = Math.rint(numTrain - i * ratio) - 1;
                }
            }
            default -> throw new IllegalStateException(spacing.name());
        }
        return out;
    }

    /** Rounds every value half to even (numpy {@code round}). */
    static double[] rint(double[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.rint(values[i]);
        }
        return out;
    }

    /** numpy {@code interp(x, arange(len(table)), table)}: linear interpolation of a table at fractional indices. */
    static double interpolate(float[] table, double x) {
        if (x <= 0) {
            return table[0];
        }
        if (x >= table.length - 1) {
            return table[table.length - 1];
        }
        int low = (int) Math.floor(x);
        double w = x - low;
        // numpy's formula: slope * (x - xp[low]) + fp[low]
        return (table[low + 1] - (double) table[low]) * w + table[low];
    }

    /**
     * The Karras et al. (2022) noise levels, rho = 7, from {@code sigmaMax} down to {@code sigmaMin}
     * ({@code _convert_to_karras}).
     */
    static double[] karras(double sigmaMin, double sigmaMax, int steps) {
        double rho = 7.0;
        double minInvRho = Math.pow(sigmaMin, 1 / rho);
        double maxInvRho = Math.pow(sigmaMax, 1 / rho);
        double[] ramp = NoiseSchedule.linspace(0, 1, steps);
        double[] sigmas = new double[steps];
        for (int i = 0; i < steps; i++) {
            sigmas[i] = Math.pow(maxInvRho + ramp[i] * (minInvRho - maxInvRho), rho);
        }
        return sigmas;
    }

    /**
     * The fractional timestep whose sigma is {@code sigma}, by linear interpolation in log-sigma
     * ({@code _sigma_to_t}); {@code logSigmas} ascends with t.
     */
    static double sigmaToTimestep(double sigma, float[] logSigmas) {
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        // low = the last index whose log-sigma is <= logSigma, kept at most len-2 so that low+1 exists
        int low = 0;
        for (int t = 0; t < logSigmas.length; t++) {
            if (logSigma - logSigmas[t] >= 0) {
                low = t;
            }
        }
        low = Math.min(low, logSigmas.length - 2);
        double lo = logSigmas[low];
        double hi = logSigmas[low + 1];
        double w = Math.min(1, Math.max(0, (lo - logSigma) / (lo - hi)));
        return (1 - w) * low + w * (low + 1);
    }
}
