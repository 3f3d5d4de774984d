package dev.kiln.diffusion.train;

import java.util.ArrayList;
import java.util.List;

/**
 * sd-scripts' {@code LossRecorder}: the average of the most recent loss at each batch position of an epoch, so
 * after the first epoch it is a moving average over one epoch's worth of micro-batches.
 */
public final class LossAverage {

    private final List<Double> losses = new ArrayList<>();
    private double total;

    /** Records the loss of the micro-batch at {@code batchIndex} (0-based within its epoch). */
    public void add(int batchIndex, double loss) {
        while (losses.size() <= batchIndex) {
            losses.add(0.0);
        }
        total += loss - losses.get(batchIndex);
        losses.set(batchIndex, loss);
    }

    public double average() {
        return losses.isEmpty() ? 0 : total / losses.size();
    }

    /** The window, to save with the training state. */
    public List<Double> window() {
        return List.copyOf(losses);
    }

    /** Restores a saved window. */
    public static LossAverage of(List<Double> window) {
        LossAverage a = new LossAverage();
        for (int i = 0; i < window.size(); i++) {
            a.add(i, window.get(i));
        }
        return a;
    }
}
