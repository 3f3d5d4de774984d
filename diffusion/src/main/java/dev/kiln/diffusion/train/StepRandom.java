package dev.kiln.diffusion.train;

import java.util.SplittableRandom;

/**
 * The randomness of a training run as a pure function of (seed, purpose, position), so that a run resumed from a
 * saved state draws exactly the numbers the uninterrupted run would have drawn. sd-scripts draws from torch's and
 * Python's global generators, whose positions a resume does not restore; Kiln derives a fresh generator per use.
 */
public enum StepRandom {
    /** Gaussian noise, noise offset, multires and input-perturbation noise of a micro-batch. */
    NOISE,
    /** Training timesteps of a micro-batch. */
    TIMESTEPS,
    /** Caption shuffling and dropout of one sample. */
    CAPTION,
    /** Flip choice of one sample. */
    CROP,
    /** LoRA module dropout of a micro-batch (dropout and rank-dropout masks use the engine seed below). */
    MODULE_DROPOUT,
    /** The engine (torch) generator seed set before a micro-batch, for dropout masks. */
    ENGINE,
    /** Network initialisation. */
    INIT,
    /** VAE latent sampling when caching, keyed by image. */
    LATENT;

    /** A generator for this purpose at {@code (a, b)}, e.g. (global step, micro-batch index). */
    public SplittableRandom at(long seed, long a, long b) {
        return new SplittableRandom(seedAt(seed, a, b));
    }

    /** A 64-bit seed for this purpose at {@code (a, b)}. */
    public long seedAt(long seed, long a, long b) {
        long h = mix(seed ^ 0x9E3779B97F4A7C15L * (ordinal() + 1));
        h = mix(h ^ a);
        return mix(h ^ (b * 0xC2B2AE3D27D4EB4FL));
    }

    /** SplitMix64's finaliser: every input bit affects every output bit. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
