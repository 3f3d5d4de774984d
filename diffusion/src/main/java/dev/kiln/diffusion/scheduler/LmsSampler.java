package dev.kiln.diffusion.scheduler;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;

/**
 * Linear multistep (order 4) in k-diffusion's sigma space, as diffusers' {@code LMSDiscreteScheduler}: the next
 * sample adds the integral over [sigma_i, sigma_{i+1}] of the Lagrange polynomial through the last derivatives.
 * The integrals of these cubic-or-lower polynomials are computed exactly (diffusers uses numerical quadrature).
 */
final class LmsSampler extends SigmaSampler {

    private static final int ORDER = 4;

    /** Most recent derivative first. */
    private final Deque<NDArray> derivatives = new ArrayDeque<>();
    private NDManager history;
    private int nextStep;

    LmsSampler(String name, NoiseSchedule schedule, int steps) {
        super(name, schedule, steps);
    }

    @Override
    public StepResult step(NDArray modelOutput, int i, NDArray sample, NoiseSource noise) {
        if (i != nextStep) {
            throw new IllegalStateException(name + " is a multistep solver: expected step " + nextStep + ", got " + i);
        }
        float sigma = sigma(i);
        NDArray predOriginal = SigmaSteps.denoised(predictionType, modelOutput, sample, sigma);
        remember(sample.sub(predOriginal).div(sigma));
        int order = Math.min(i + 1, ORDER);
        NDArray prev = sample;
        Iterator<NDArray> recent = derivatives.iterator();
        for (int j = 0; j < order; j++) {
            prev = prev.add(recent.next().mul((float) coefficient(order, i, j)));
        }
        nextStep++;
        return new StepResult(prev, predOriginal);
    }

    /**
     * Integral over [sigma_i, sigma_{i+1}] of the Lagrange basis polynomial that is 1 at sigma_{i-j} and 0 at the
     * other sigma_{i-k}, k < order.
     */
    private double coefficient(int order, int i, int j) {
        // polynomial coefficients, lowest power first, built factor by factor
        double[] poly = {1.0};
        for (int k = 0; k < order; k++) {
            if (k == j) {
                continue;
            }
            double root = sigma(i - k);
            double scale = 1.0 / (sigma(i - j) - root);
            double[] next = new double[poly.length + 1];
            for (int p = 0; p < poly.length; p++) {
                next[p + 1] += poly[p] * scale;
                next[p] -= poly[p] * root * scale;
            }
            poly = next;
        }
        double from = sigma(i);
        double to = sigma(i + 1);
        double integral = 0;
        for (int p = 0; p < poly.length; p++) {
            integral += poly[p] * (Math.pow(to, p + 1) - Math.pow(from, p + 1)) / (p + 1);
        }
        return integral;
    }

    /** Keeps the derivative for later steps, in a manager the caller's per-step scopes don't close. */
    private void remember(NDArray derivative) {
        if (history == null) {
            history = NDManager.newBaseManager(derivative.getDevice());
        }
        NDArray kept = derivative.duplicate();
        kept.attach(history);
        derivatives.addFirst(kept);
        if (derivatives.size() > ORDER) {
            derivatives.removeLast().close();
        }
    }

    @Override
    public void close() {
        derivatives.clear();
        if (history != null) {
            history.close();
            history = null;
        }
    }
}
