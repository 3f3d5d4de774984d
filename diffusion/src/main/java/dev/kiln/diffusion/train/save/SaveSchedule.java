package dev.kiln.diffusion.train.save;

import dev.kiln.model.dataset.ConfigException;
import dev.kiln.model.job.JobSpec;
import java.util.OptionalLong;

/**
 * When train_network.py saves the LoRA and the training state, and which older ones it deletes (§9.7; train_util.py
 * get_remove_epoch_no, get_remove_step_no, save_and_remove_state_on_epoch_end, save_and_remove_state_stepwise).
 * Epochs are 1-based, steps count optimizer updates. The final model is always saved; it is not part of this
 * schedule. Removal numbers name files or folders that may not exist (sd-scripts deletes them only if they do).
 *
 * @param everyNEpochs save_every_n_epochs (after save_n_epoch_ratio was applied), or null
 * @param everyNSteps save_every_n_steps, or null
 * @param lastNEpochs save_last_n_epochs, or null
 * @param lastNSteps save_last_n_steps, or null
 * @param lastNEpochsState save_last_n_epochs_state, or null (null or 0: save_last_n_epochs applies)
 * @param lastNStepsState save_last_n_steps_state, or null (null or 0: save_last_n_steps applies)
 * @param saveState save_state: a state folder with every model save, and at the end
 * @param saveStateOnTrainEnd save_state_on_train_end: a state folder at the end
 */
public record SaveSchedule(Long everyNEpochs, Long everyNSteps, Long lastNEpochs, Long lastNSteps,
        Long lastNEpochsState, Long lastNStepsState, boolean saveState, boolean saveStateOnTrainEnd) {

    public SaveSchedule {
        // sd-scripts divides by these (ZeroDivisionError at the first save)
        atLeast(everyNEpochs, 1, "save_every_n_epochs");
        atLeast(everyNSteps, 1, "save_every_n_steps");
        // sd-scripts would delete the file it has just written (0) or a newer one (negative)
        atLeast(lastNEpochs, 1, "save_last_n_epochs");
        atLeast(lastNSteps, 1, "save_last_n_steps");
        atLeast(lastNEpochsState, 0, "save_last_n_epochs_state");
        atLeast(lastNStepsState, 0, "save_last_n_steps_state");
    }

    /**
     * The schedule of a job. {@code save_n_epoch_ratio} (when positive) replaces {@code save_every_n_epochs} by
     * {@code floor(numTrainEpochs / ratio)}, at least 1, as train_network.py does once it knows the epoch count.
     */
    public static SaveSchedule of(JobSpec job, long numTrainEpochs) {
        Long everyNEpochs = (Long) job.argument("save_every_n_epochs");
        Long ratio = (Long) job.argument("save_n_epoch_ratio");
        if (ratio != null && ratio > 0) {
            everyNEpochs = Math.max(1, Math.floorDiv(numTrainEpochs, ratio));
        }
        return new SaveSchedule(everyNEpochs, (Long) job.argument("save_every_n_steps"),
                (Long) job.argument("save_last_n_epochs"), (Long) job.argument("save_last_n_steps"),
                (Long) job.argument("save_last_n_epochs_state"), (Long) job.argument("save_last_n_steps_state"),
                job.flag("save_state"), job.flag("save_state_on_train_end"));
    }

    /** A model after epoch {@code epoch}: every N epochs, but never after the last one (that is the final file). */
    public boolean shouldSaveAfterEpoch(long epoch, long numTrainEpochs) {
        return everyNEpochs != null && epoch % everyNEpochs == 0 && epoch < numTrainEpochs;
    }

    /** A model after optimizer step {@code step}: every N steps. */
    public boolean shouldSaveAfterStep(long step) {
        return everyNSteps != null && step % everyNSteps == 0;
    }

    /** After saving epoch {@code epoch}: the epoch model to delete, {@code epoch - N·K}, when not negative. */
    public OptionalLong epochToRemove(long epoch) {
        if (everyNEpochs == null || lastNEpochs == null) {
            return OptionalLong.empty();
        }
        long remove = epoch - everyNEpochs * lastNEpochs;
        return remove < 0 ? OptionalLong.empty() : OptionalLong.of(remove);
    }

    /**
     * After saving step {@code step}: the step model to delete, {@code r - (r mod N)} with {@code r = step - K - 1},
     * when not negative (N=10, K=30: at step 40 delete 0, at 50 delete 10).
     */
    public OptionalLong stepToRemove(long step) {
        if (everyNSteps == null || lastNSteps == null) {
            return OptionalLong.empty();
        }
        long remove = stepMultipleBefore(step, lastNSteps);
        return remove < 0 ? OptionalLong.empty() : OptionalLong.of(remove);
    }

    /** A state folder with the epoch model ({@code save_state}). */
    public boolean shouldSaveStateAfterEpoch(long epoch, long numTrainEpochs) {
        return saveState && shouldSaveAfterEpoch(epoch, numTrainEpochs);
    }

    /** A state folder with the step model ({@code save_state}). */
    public boolean shouldSaveStateAfterStep(long step) {
        return saveState && shouldSaveAfterStep(step);
    }

    /** A state folder at the end of training ({@code save_state} or {@code save_state_on_train_end}). */
    public boolean shouldSaveStateAtEnd() {
        return saveState || saveStateOnTrainEnd;
    }

    /**
     * After saving the state of epoch {@code epoch}: the epoch state folder to delete, {@code epoch - N·K} with K =
     * save_last_n_epochs_state (or save_last_n_epochs). sd-scripts does not check the sign; a negative number
     * names no folder and is left out here.
     */
    public OptionalLong epochStateToRemove(long epoch) {
        Long keep = positive(lastNEpochsState) != null ? lastNEpochsState : lastNEpochs;
        if (everyNEpochs == null || keep == null) {
            return OptionalLong.empty();
        }
        long remove = epoch - everyNEpochs * keep;
        return remove < 0 ? OptionalLong.empty() : OptionalLong.of(remove);
    }

    /**
     * After saving the state of step {@code step}: the step state folder to delete, as {@link #stepToRemove} with K =
     * save_last_n_steps_state (or save_last_n_steps), but only when positive (sd-scripts' {@code > 0}).
     */
    public OptionalLong stepStateToRemove(long step) {
        Long keep = positive(lastNStepsState) != null ? lastNStepsState : lastNSteps;
        if (everyNSteps == null || keep == null) {
            return OptionalLong.empty();
        }
        long remove = stepMultipleBefore(step, keep);
        return remove > 0 ? OptionalLong.of(remove) : OptionalLong.empty();
    }

    /** {@code r - (r % N)} with Python's floor modulo, {@code r = step - keep - 1}. */
    private long stepMultipleBefore(long step, long keep) {
        long r = step - keep - 1;
        return r - Math.floorMod(r, everyNSteps);
    }

    private static Long positive(Long v) {
        return v != null && v > 0 ? v : null;
    }

    private static void atLeast(Long v, long min, String key) {
        if (v != null && v < min) {
            throw new ConfigException("", key, "must be at least " + min + ", got " + v);
        }
    }
}
