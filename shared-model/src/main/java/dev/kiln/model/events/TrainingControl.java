package dev.kiln.model.events;

/**
 * {@code kiln.training.control} (key = job): a user command to a running training.
 *
 * @param jobId   the job name
 * @param command {@code cancel}, {@code save-now} or {@code sample-now}
 */
public record TrainingControl(String jobId, ControlCommand command) {

    public TrainingControl {
        Fields.requiredText(jobId, "training.control", "jobId");
        Fields.required(command, "training.control", "command");
    }
}
