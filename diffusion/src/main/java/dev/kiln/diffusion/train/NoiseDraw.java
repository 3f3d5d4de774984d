package dev.kiln.diffusion.train;

import java.util.random.RandomGenerator;

/**
 * One micro-batch's noise and timesteps, drawn in Java from generators the caller derives per step (see
 * {@link StepRandom}) in sd-scripts' order: ε, noise offset, multires pyramid, timesteps, input perturbation.
 *
 * @param noise      ε, the noise the target is built from, laid out like the latents [B, C, H, W]
 * @param inputNoise the noise added to the latents: ε, plus γ·N(0,1) with {@code ip_noise_gamma}
 * @param timesteps  one training timestep per sample
 */
public record NoiseDraw(float[] noise, float[] inputNoise, long[] timesteps) {

    /**
     * Draws noise for latents of {@code shape} [B, C, H, W].
     *
     * @param latents the (scaled) latents, needed only with {@code adaptive_noise_scale}
     */
    public static NoiseDraw draw(NoiseOptions options, long[] shape, float[] latents, RandomGenerator noiseRandom,
                                 RandomGenerator timestepRandom) {
        int batch = Math.toIntExact(shape[0]);
        int channels = Math.toIntExact(shape[1]);
        int height = Math.toIntExact(shape[2]);
        int width = Math.toIntExact(shape[3]);
        int plane = height * width;
        float[] noise = gaussian(noiseRandom, batch * channels * plane);
        if (options.noiseOffset() != 0) {
            double offset = options.noiseOffset();
            if (options.noiseOffsetRandomStrength()) {
                offset *= noiseRandom.nextDouble();
            }
            float[] perChannel = gaussian(noiseRandom, batch * channels);
            for (int bc = 0; bc < batch * channels; bc++) {
                double o = offset;
                if (options.adaptiveNoiseScale() != null) {
                    double mean = 0;
                    for (int i = 0; i < plane; i++) {
                        mean += latents[bc * plane + i];
                    }
                    o = Math.max(0, offset + options.adaptiveNoiseScale() * Math.abs(mean / plane));
                }
                float add = (float) (o * perChannel[bc]);
                for (int i = 0; i < plane; i++) {
                    noise[bc * plane + i] += add;
                }
            }
        }
        if (options.multiresIterations() > 0) {
            pyramid(noise, batch * channels, height, width, options.multiresIterations(), options.multiresDiscount(),
                    noiseRandom);
        }
        long[] timesteps = new long[batch];
        for (int b = 0; b < batch; b++) {
            timesteps[b] = options.minTimestep() < options.maxTimestep()
                    ? timestepRandom.nextInt(options.minTimestep(), options.maxTimestep()) : options.maxTimestep();
        }
        float[] input = noise;
        if (options.ipNoiseGamma() != 0) {
            double gamma = options.ipNoiseGamma() * (options.ipNoiseGammaRandomStrength() ? noiseRandom.nextDouble() : 1);
            float[] perturbation = gaussian(noiseRandom, noise.length);
            input = new float[noise.length];
            for (int i = 0; i < noise.length; i++) {
                input[i] = (float) (noise[i] + gamma * perturbation[i]);
            }
        }
        return new NoiseDraw(noise, input, timesteps);
    }

    static float[] gaussian(RandomGenerator random, int count) {
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }

    /**
     * sd-scripts' {@code pyramid_noise_like}: for level i a coarser Gaussian field of size
     * {@code max(1, int(H / r^i)) × max(1, int(W / r^i))} with {@code r ~ U(2, 4)}, bilinearly upsampled and added with
     * weight {@code discount^i}, stopping after a level one pixel high or wide; then divided by the global (unbiased)
     * standard deviation.
     */
    static void pyramid(float[] noise, int planes, int height, int width, int iterations, double discount,
                        RandomGenerator random) {
        for (int i = 0; i < iterations; i++) {
            double r = random.nextDouble() * 2 + 2;
            int h = Math.max(1, (int) (height / Math.pow(r, i)));
            int w = Math.max(1, (int) (width / Math.pow(r, i)));
            float[] coarse = gaussian(random, planes * h * w);
            float weight = (float) Math.pow(discount, i);
            for (int p = 0; p < planes; p++) {
                upsampleAdd(coarse, p * h * w, h, w, noise, p * height * width, height, width, weight);
            }
            if (h == 1 || w == 1) {
                break;
            }
        }
        double sum = 0;
        for (float v : noise) {
            sum += v;
        }
        double mean = sum / noise.length;
        double squares = 0;
        for (float v : noise) {
            squares += (v - mean) * (v - mean);
        }
        float std = (float) Math.sqrt(squares / Math.max(1, noise.length - 1));
        for (int i = 0; i < noise.length; i++) {
            noise[i] /= std;
        }
    }

    /** torch {@code Upsample(mode="bilinear", align_corners=False)} of one plane, added with {@code weight}. */
    static void upsampleAdd(float[] src, int srcOffset, int srcH, int srcW, float[] dst, int dstOffset, int dstH,
                            int dstW, float weight) {
        for (int y = 0; y < dstH; y++) {
            double sy = Math.max(0, (y + 0.5) * srcH / dstH - 0.5);
            int y0 = Math.min((int) sy, srcH - 1);
            int y1 = Math.min(y0 + 1, srcH - 1);
            double ly = sy - y0;
            for (int x = 0; x < dstW; x++) {
                double sx = Math.max(0, (x + 0.5) * srcW / dstW - 0.5);
                int x0 = Math.min((int) sx, srcW - 1);
                int x1 = Math.min(x0 + 1, srcW - 1);
                double lx = sx - x0;
                double top = src[srcOffset + y0 * srcW + x0] * (1 - lx) + src[srcOffset + y0 * srcW + x1] * lx;
                double bottom = src[srcOffset + y1 * srcW + x0] * (1 - lx) + src[srcOffset + y1 * srcW + x1] * lx;
                dst[dstOffset + y * dstW + x] += (float) ((top * (1 - ly) + bottom * ly) * weight);
            }
        }
    }
}
