package dev.kiln.diffusion.train;

/** Commands polled by the training loop once per optimizer step ({@code kiln.training.control}). */
@FunctionalInterface
public interface TrainingControl {

    /** The pending command, or {@link Command#NONE}; each command is returned once. */
    Command poll();

    /** No control: the run goes to its end. */
    TrainingControl NONE = () -> Command.NONE;

    enum Command {
        NONE, CANCEL, SAVE_NOW, SAMPLE_NOW
    }
}
