package dev.kiln.diffusion.scheduler;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * The DDPM forward-process tables (betas, cumulative alphas, SNR) and the training-time math built on them:
 * {@code add_noise} and the v-prediction target, as diffusers' {@code DDPMScheduler} and kohya's training loop
 * compute them.
 *
 * <p>Two copies of each table are kept: {@code float} values reproduce diffusers, which builds them with float32
 * torch ops (that is what models were trained against), and {@code double} values are the exact reference
 * (numpy float64), useful for analysis and tests.
 */
public final class NoiseSchedule {

    private final SchedulerConfig config;
    private final float[] betas;
    private final float[] alphasCumprod;
    private final double[] betas64;
    private final double[] alphasCumprod64;

    private NoiseSchedule(SchedulerConfig config) {
        this.config = config;
        int n = config.numTrainTimesteps();
        float[] b32 = betasFloat32(config);
        double[] b64 = betasFloat64(config);
        if (config.rescaleBetasZeroSnr()) {
            b32 = toFloat(rescaleZeroTerminalSnr(toDouble(b32)));
            b64 = rescaleZeroTerminalSnr(b64);
        }
        this.betas = b32;
        this.betas64 = b64;
        this.alphasCumprod = new float[n];
        this.alphasCumprod64 = new double[n];
        // torch's CPU cumprod accumulates float32 inputs in double and rounds each partial product to float
        double product32 = 1.0;
        double product64 = 1.0;
        for (int t = 0; t < n; t++) {
            product32 *= (1.0f - b32[t]);
            alphasCumprod[t] = (float) product32;
            product64 *= (1.0 - b64[t]);
            alphasCumprod64[t] = product64;
        }
    }

    /** The tables for a scheduler config. */
    public static NoiseSchedule of(SchedulerConfig config) {
        return new NoiseSchedule(config);
    }

    public SchedulerConfig config() {
        return config;
    }

    public int numTrainTimesteps() {
        return betas.length;
    }

    /** beta_t as diffusers holds it (float32). */
    public float[] betas() {
        return betas.clone();
    }

    /** alpha-bar_t = prod_{s<=t}(1 - beta_s) as diffusers holds it (float32). */
    public float[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    /** beta_t in float64. */
    public double[] betas64() {
        return betas64.clone();
    }

    /** alpha-bar_t in float64. */
    public double[] alphasCumprod64() {
        return alphasCumprod64.clone();
    }

    /** alpha-bar_t (float32) of one timestep. */
    public float alphaCumprod(int t) {
        return alphasCumprod[checkTimestep(t)];
    }

    /** SNR_t = alpha-bar_t / (1 - alpha-bar_t) for every t (float32), the input of min-SNR style loss weights. */
    public float[] snr() {
        float[] snr = new float[alphasCumprod.length];
        for (int t = 0; t < snr.length; t++) {
            snr[t] = alphasCumprod[t] / (1f - alphasCumprod[t]);
        }
        return snr;
    }

    /**
     * The k-diffusion noise levels sigma_t = sqrt((1 - alpha-bar_t) / alpha-bar_t) (float32, ascending in t) that
     * the Euler and DPM-Solver samplers work with.
     */
    public float[] sigmas() {
        float[] sigmas = new float[alphasCumprod.length];
        for (int t = 0; t < sigmas.length; t++) {
            float ac = alphasCumprod[t];
            if (config.rescaleBetasZeroSnr() && t == sigmas.length - 1) {
                // diffusers: close to 0 without being 0 so that the first sigma is finite
                ac = 0x1p-24f;
            }
            sigmas[t] = (float) Math.sqrt((1f - ac) / ac);
        }
        return sigmas;
    }

    /**
     * Forward diffusion {@code x_t = sqrt(a_t) * x0 + sqrt(1 - a_t) * noise}, one timestep per batch item.
     *
     * @param original  x0, shape [B, ...]
     * @param noise     same shape as {@code original}
     * @param timesteps B training timesteps
     */
    public NDArray addNoise(NDArray original, NDArray noise, long[] timesteps) {
        checkSameShape(original, noise, "noise");
        NDArray sqrtAlpha = perItem(original, timesteps, false);
        NDArray sqrtOneMinusAlpha = perItem(original, timesteps, true);
        return original.mul(sqrtAlpha).add(noise.mul(sqrtOneMinusAlpha));
    }

    /** The v-prediction target {@code v = sqrt(a_t) * noise - sqrt(1 - a_t) * x0} (diffusers {@code get_velocity}). */
    public NDArray velocity(NDArray original, NDArray noise, long[] timesteps) {
        checkSameShape(original, noise, "noise");
        NDArray sqrtAlpha = perItem(original, timesteps, false);
        NDArray sqrtOneMinusAlpha = perItem(original, timesteps, true);
        return noise.mul(sqrtAlpha).sub(original.mul(sqrtOneMinusAlpha));
    }

    /** [B, 1, 1, ...] coefficients sqrt(a_t) or sqrt(1 - a_t) (float32), broadcastable against {@code like}. */
    private NDArray perItem(NDArray like, long[] timesteps, boolean oneMinus) {
        long batch = like.getShape().get(0);
        if (timesteps.length != batch) {
            throw new IllegalArgumentException("got " + timesteps.length + " timesteps for a batch of " + batch);
        }
        float[] values = new float[timesteps.length];
        for (int i = 0; i < values.length; i++) {
            float ac = alphasCumprod[checkTimestep(timesteps[i])];
            values[i] = (float) Math.sqrt(oneMinus ? 1f - ac : ac);
        }
        long[] shape = new long[like.getShape().dimension()];
        java.util.Arrays.fill(shape, 1);
        shape[0] = batch;
        return like.getManager().create(values, new Shape(shape));
    }

    private int checkTimestep(long t) {
        if (t < 0 || t >= alphasCumprod.length) {
            throw new IllegalArgumentException("timestep " + t + " outside 0.." + (alphasCumprod.length - 1));
        }
        return (int) t;
    }

    private static void checkSameShape(NDArray a, NDArray b, String name) {
        if (!a.getShape().equals(b.getShape())) {
            throw new IllegalArgumentException(name + " shape " + b.getShape() + " differs from sample shape "
                    + a.getShape());
        }
    }

    /** Betas as diffusers computes them: float32 torch.linspace (then squared, for scaled_linear). */
    private static float[] betasFloat32(SchedulerConfig c) {
        int n = c.numTrainTimesteps();
        return switch (c.betaSchedule()) {
            case "linear" -> torchLinspace((float) c.betaStart(), (float) c.betaEnd(), n);
            case "scaled_linear" -> {
                float[] roots = torchLinspace((float) Math.sqrt(c.betaStart()), (float) Math.sqrt(c.betaEnd()), n);
                for (int i = 0; i < n; i++) {
                    roots[i] = roots[i] * roots[i];
                }
                yield roots;
            }
            default -> toFloat(cosineBetas(n)); // computed in float64 by diffusers, then stored as float32
        };
    }

    private static double[] betasFloat64(SchedulerConfig c) {
        int n = c.numTrainTimesteps();
        return switch (c.betaSchedule()) {
            case "linear" -> linspace(c.betaStart(), c.betaEnd(), n);
            case "scaled_linear" -> {
                double[] roots = linspace(Math.sqrt(c.betaStart()), Math.sqrt(c.betaEnd()), n);
                for (int i = 0; i < n; i++) {
                    roots[i] = roots[i] * roots[i];
                }
                yield roots;
            }
            default -> cosineBetas(n);
        };
    }

    /** torch.linspace in float32: the first half counts up from start, the second half down from end. */
    static float[] torchLinspace(float start, float end, int n) {
        float[] out = new float[n];
        float step = (end - start) / (float) (n - 1);
        int halfway = n / 2;
        for (int i = 0; i < n; i++) {
            out[i] = i < halfway ? start + step * i : end - step * (n - 1 - i);
        }
        return out;
    }

    /** numpy.linspace in float64 (endpoint included). */
    static double[] linspace(double start, double end, int n) {
        double[] out = new double[n];
        if (n == 1) {
            out[0] = start;
            return out;
        }
        double step = (end - start) / (n - 1);
        for (int i = 0; i < n; i++) {
            out[i] = start + i * step;
        }
        out[n - 1] = end;
        return out;
    }

    /** The "squaredcos_cap_v2" (Glide cosine) schedule: alpha-bar(t) = cos((t + 0.008) / 1.008 * pi / 2)^2. */
    private static double[] cosineBetas(int n) {
        double[] betas = new double[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n;
            double t2 = (double) (i + 1) / n;
            betas[i] = Math.min(1 - cosineAlphaBar(t2) / cosineAlphaBar(t1), 0.999);
        }
        return betas;
    }

    private static double cosineAlphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /**
     * Rescales betas so that the last timestep has zero SNR, keeping sqrt(alpha-bar_0): Algorithm 1 of
     * arXiv 2305.08891, as diffusers' {@code rescale_zero_terminal_snr} and kohya's {@code --zero_terminal_snr}.
     */
    static double[] rescaleZeroTerminalSnr(double[] betas) {
        int n = betas.length;
        double[] sqrtAlphaBar = new double[n];
        double product = 1;
        for (int t = 0; t < n; t++) {
            product *= 1 - betas[t];
            sqrtAlphaBar[t] = Math.sqrt(product);
        }
        double first = sqrtAlphaBar[0];
        double last = sqrtAlphaBar[n - 1];
        double[] rescaled = new double[n];
        double previousAlphaBar = 1;
        for (int t = 0; t < n; t++) {
            double s = (sqrtAlphaBar[t] - last) * first / (first - last);
            double alphaBar = s * s;
            rescaled[t] = 1 - alphaBar / previousAlphaBar;
            previousAlphaBar = alphaBar;
        }
        return rescaled;
    }

    private static float[] toFloat(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    private static double[] toDouble(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = values[i];
        }
        return out;
    }
}
