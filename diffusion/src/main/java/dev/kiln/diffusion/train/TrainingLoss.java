package dev.kiln.diffusion.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.nn.ScalarOps;

/**
 * The loss of one micro-batch as sd-scripts computes it: element-wise loss (l2, l1, huber, smooth_l1), mean over
 * all but the batch axis, per-sample weights ({@code prior_loss_weight} for regularization samples), then the
 * SNR-based post-processing in sd-scripts' order, then the batch mean.
 */
public final class TrainingLoss {

    private final LossOptions options;
    private final float[] snr;
    private final float[] alphasCumprod;

    /**
     * @param snr           SNR per training timestep as sd-scripts' {@code all_snr} (from the schedule before any
     *                      zero-terminal-SNR rescale)
     * @param alphasCumprod ᾱ per timestep (the Huber snr schedule)
     */
    public TrainingLoss(LossOptions options, float[] snr, float[] alphasCumprod) {
        this.options = options;
        this.snr = snr.clone();
        this.alphasCumprod = alphasCumprod.clone();
    }

    public LossOptions options() {
        return options;
    }

    /**
     * The scalar loss.
     *
     * @param prediction    model output [B, ...]
     * @param target        ε or v, same shape
     * @param timesteps     per sample
     * @param sampleWeights per sample: 1, or prior_loss_weight for regularization images
     */
    public NDArray loss(NDArray prediction, NDArray target, long[] timesteps, float[] sampleWeights) {
        long batch = prediction.getShape().get(0);
        if (timesteps.length != batch || sampleWeights.length != batch) {
            throw new IllegalArgumentException("batch of " + batch + " with " + timesteps.length + " timesteps and "
                    + sampleWeights.length + " sample weights");
        }
        NDArray diff = prediction.sub(target);
        NDArray elementwise = switch (options.lossType()) {
            case "l2" -> diff.square();
            case "l1" -> diff.abs();
            default -> huber(diff, timesteps);
        };
        NDArray perSample = elementwise.reshape(batch, -1).mean(new int[] {1});
        float[] weights = new float[(int) batch];
        for (int b = 0; b < batch; b++) {
            weights[b] = sampleWeights[b] * postProcessWeight(timesteps[b]);
        }
        NDArray w = perSample.getManager().create(weights);
        return perSample.mul(w).mean();
    }

    /** The product of the weights sd-scripts' post-processing multiplies a sample's loss by. */
    public float postProcessWeight(long timestep) {
        float w = snrWeight(timestep);
        if (options.vPredLikeLoss() != null) {
            // loss + loss / (s / (s + 1)) · λ on the already weighted loss
            float s = Math.min(snr[(int) timestep], 1000f);
            w *= 1 + (float) (options.vPredLikeLoss() / (s / (s + 1)));
        }
        return w * debiasWeight(timestep);
    }

    /** min-SNR-γ and scale_v_pred_loss_like_noise_pred weights. */
    private float snrWeight(long timestep) {
        float s = snr[(int) timestep];
        float w = 1f;
        if (options.minSnrGamma() != null) {
            float clipped = Math.min(s, options.minSnrGamma().floatValue());
            w *= options.vParameterization() ? clipped / (s + 1) : clipped / s;
        }
        if (options.scaleVPredLossLikeNoisePred()) {
            float c = Math.min(s, 1000f);
            w *= c / (c + 1);
        }
        return w;
    }

    private float debiasWeight(long timestep) {
        if (!options.debiasedEstimation()) {
            return 1f;
        }
        float s = Math.min(snr[(int) timestep], 1000f);
        return options.vParameterization() ? 1f / (s + 1) : (float) (1 / Math.sqrt(s));
    }

    /** sd-scripts' per-sample Huber threshold c ({@code get_huber_threshold_if_needed}). */
    public float huberC(long timestep) {
        double c = options.huberC();
        return (float) switch (options.huberSchedule()) {
            case "constant" -> c * options.huberScale();
            case "exponential" -> Math.exp(Math.log(c) * timestep / 1000.0) * options.huberScale();
            default -> {
                double a = alphasCumprod[(int) timestep];
                double sigma = Math.sqrt((1 - a) / a);
                yield (1 - c) / ((1 + sigma) * (1 + sigma)) + c;
            }
        };
    }

    private NDArray huber(NDArray diff, long[] timesteps) {
        long batch = diff.getShape().get(0);
        float[] c = new float[(int) batch];
        for (int b = 0; b < batch; b++) {
            c[b] = huberC(timesteps[b]);
        }
        long[] dims = new long[diff.getShape().dimension()];
        java.util.Arrays.fill(dims, 1);
        dims[0] = batch;
        NDArray cs = diff.getManager().create(c, new Shape(dims));
        NDArray root = diff.square().add(cs.square()).sqrt().sub(cs);
        NDArray doubled = ScalarOps.mul(root, 2f);
        return options.lossType().equals("huber") ? doubled.mul(cs) : doubled;
    }
}
