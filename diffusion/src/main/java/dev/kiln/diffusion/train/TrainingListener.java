package dev.kiln.diffusion.train;

import java.nio.file.Path;
import java.util.List;

/** What a training run reports while it runs (progress bars, Kafka progress events). All methods are optional. */
public interface TrainingListener {

    /** Latent caching progress before training. */
    default void caching(long done, long total) {
    }

    /** Training starts (or resumes) at {@code step} of {@code totalSteps}. */
    default void started(long step, long totalSteps, int epoch, int totalEpochs) {
    }

    /** After each optimizer step. */
    default void step(StepReport report) {
    }

    /** After each epoch, with sd-scripts' {@code loss/epoch_average}. */
    default void epoch(int epoch, int totalEpochs, double averageLoss) {
    }

    /** A model file (and, when {@code state} is not null, the training state next to it) was written. */
    default void checkpoint(Path model, Path state, long step, int epoch) {
    }

    /** Sample images were written. */
    default void samples(List<Path> images, long step, int epoch) {
    }

    /**
     * One optimizer step.
     *
     * @param loss     the last micro-batch's loss
     * @param avgLoss  sd-scripts' moving average ({@link LossAverage})
     * @param lr       the first parameter group's learning rate used by this step
     */
    record StepReport(long step, long totalSteps, int epoch, int totalEpochs, double loss, double avgLoss, double lr,
                      double itPerSec, double etaSeconds) {
    }
}
