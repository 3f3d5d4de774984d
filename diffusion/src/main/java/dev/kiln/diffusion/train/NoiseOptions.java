package dev.kiln.diffusion.train;

/**
 * sd-scripts' noise and timestep options ({@code train_util.get_noise_noisy_latents_and_timesteps}).
 *
 * @param noiseOffset              {@code --noise_offset} (0 = off)
 * @param noiseOffsetRandomStrength {@code --noise_offset_random_strength}: offset × U(0,1), one draw per batch
 * @param adaptiveNoiseScale       {@code --adaptive_noise_scale} or null
 * @param multiresIterations       {@code --multires_noise_iterations} (0 = off)
 * @param multiresDiscount         {@code --multires_noise_discount} (0.3)
 * @param ipNoiseGamma             {@code --ip_noise_gamma} (0 = off): input perturbation, the target keeps ε
 * @param ipNoiseGammaRandomStrength {@code --ip_noise_gamma_random_strength}
 * @param minTimestep              {@code --min_timestep} (0)
 * @param maxTimestep              {@code --max_timestep} (1000, exclusive)
 */
public record NoiseOptions(double noiseOffset, boolean noiseOffsetRandomStrength, Double adaptiveNoiseScale,
                           int multiresIterations, double multiresDiscount, double ipNoiseGamma,
                           boolean ipNoiseGammaRandomStrength, int minTimestep, int maxTimestep) {

    /** Plain Gaussian noise over all 1000 timesteps. */
    public static final NoiseOptions DEFAULT = new NoiseOptions(0, false, null, 0, 0.3, 0, false, 0, 1000);

    public NoiseOptions {
        if (adaptiveNoiseScale != null && noiseOffset == 0) {
            throw new IllegalArgumentException("adaptive_noise_scale needs noise_offset");
        }
        if (minTimestep < 0 || maxTimestep > 1000 || minTimestep > maxTimestep) {
            throw new IllegalArgumentException("min_timestep " + minTimestep + " and max_timestep " + maxTimestep
                    + " must satisfy 0 <= min_timestep <= max_timestep <= 1000");
        }
        if (multiresIterations < 0) {
            throw new IllegalArgumentException("multires_noise_iterations must not be negative");
        }
    }
}
