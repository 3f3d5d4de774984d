package dev.kiln.diffusion.train;

/**
 * What a run writes besides the weights it trains: model files, training states and sample images, at the points
 * sd-scripts writes them. The loop calls these hooks; {@link #NONE} writes nothing.
 */
public interface RunOutputs {

    /** Before the first step of a run (sd-scripts' {@code sample_at_first}); {@code step} > 0 on resume. */
    default void atStart(long step, DiffusionTrainer trainer) {
    }

    /** After each optimizer step ({@code save_every_n_steps}, {@code sample_every_n_steps}). */
    default void afterStep(long step, int epoch, TrainingState state, DiffusionTrainer trainer) {
    }

    /** After each epoch ({@code save_every_n_epochs}, {@code sample_every_n_epochs}). */
    default void afterEpoch(long step, int epoch, int epochs, TrainingState state, DiffusionTrainer trainer) {
    }

    /** The {@code save-now} control command. */
    default void saveNow(long step, int epoch, TrainingState state, DiffusionTrainer trainer) {
    }

    /** The {@code sample-now} control command. */
    default void sampleNow(long step, int epoch, DiffusionTrainer trainer) {
    }

    /** The {@code cancel} control command, before the run returns. */
    default void cancelled(long step, int epoch, TrainingState state, DiffusionTrainer trainer) {
    }

    /** The run finished: the final model. */
    default void atEnd(long step, int epochs, TrainingState state, DiffusionTrainer trainer) {
    }

    RunOutputs NONE = new RunOutputs() {
    };
}
