package dev.kiln.diffusion.train.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;

import java.util.Collection;

/**
 * {@code torch.nn.utils.clip_grad_norm_} over all gradients together (sd-scripts' {@code --max_grad_norm}). DJL's
 * own {@code optClipGrad} clips element-wise and one-sided, which is not the same thing.
 */
public final class GradientClipping {

    private GradientClipping() {
    }

    /**
     * Scales every gradient in place by {@code min(1, maxNorm / (total + 1e-6))} where {@code total} is the L2 norm of
     * all gradients taken as one vector, and returns {@code total} (before clipping). {@code maxNorm <= 0} only
     * measures.
     */
    public static double clipGlobalNorm(Collection<NDArray> grads, double maxNorm) {
        double sumOfSquares = 0;
        try (NDScope scope = new NDScope()) {
            for (NDArray g : grads) {
                // per-tensor norms in float32 as torch computes them, combined in double
                double norm = g.square().sum().sqrt().getFloat();
                sumOfSquares += norm * norm;
            }
        }
        double total = Math.sqrt(sumOfSquares);
        if (maxNorm > 0) {
            double coefficient = maxNorm / (total + 1e-6);
            if (coefficient < 1) {
                for (NDArray g : grads) {
                    g.muli((float) coefficient);
                }
            }
        }
        return total;
    }
}
