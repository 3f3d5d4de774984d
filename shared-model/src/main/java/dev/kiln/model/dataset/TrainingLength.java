package dev.kiln.model.dataset;

/**
 * The arguments that turn batches into steps (train_network.py): {@code max_train_epochs} overrides
 * {@code max_train_steps} (default 1600); one optimizer step per {@code gradient_accumulation_steps} batches.
 *
 * @param maxTrainEpochs null when not given
 */
public record TrainingLength(Integer maxTrainEpochs, long maxTrainSteps, int gradientAccumulationSteps) {
    /** sd-scripts' defaults: 1600 steps, no accumulation. */
    public static final TrainingLength DEFAULT = new TrainingLength(null, 1600, 1);

    public TrainingLength {
        if (gradientAccumulationSteps < 1) {
            throw new ConfigException("", "gradient_accumulation_steps", "must be at least 1");
        }
        if (maxTrainEpochs != null && maxTrainEpochs < 1) {
            throw new ConfigException("", "max_train_epochs", "must be at least 1");
        }
    }

    /** Optimizer steps per epoch: ceil(batches / gradient_accumulation_steps). */
    public long stepsPerEpoch(long batchesPerEpoch) {
        return ceilDiv(batchesPerEpoch, gradientAccumulationSteps);
    }

    /** max_train_steps, or max_train_epochs × steps per epoch when epochs are given. */
    public long totalSteps(long batchesPerEpoch) {
        return maxTrainEpochs != null ? maxTrainEpochs * stepsPerEpoch(batchesPerEpoch) : maxTrainSteps;
    }

    /** Epochs the trainer runs: ceil(total steps / steps per epoch); 0 without batches. */
    public long epochs(long batchesPerEpoch) {
        long perEpoch = stepsPerEpoch(batchesPerEpoch);
        return perEpoch == 0 ? 0 : ceilDiv(totalSteps(batchesPerEpoch), perEpoch);
    }

    static long ceilDiv(long a, long b) {
        return -Math.floorDiv(-a, b);
    }
}
