package dev.kiln.model.events;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.Instant;

/**
 * {@code kiln.training.progress} (key = job): the progress event of ARCHITECTURE §3, field for field.
 * Every field is always written; those that do not apply are {@code null}.
 *
 * @param jobId       the job name
 * @param type        what happened
 * @param stage       which stage reports it
 * @param step        global optimizer step, or null
 * @param totalSteps  steps the job will run, or null
 * @param epoch       current epoch (1-based as sd-scripts logs it), or null
 * @param totalEpochs epochs the job will run, or null
 * @param loss        loss of the current step, or null
 * @param avgLoss     moving average of the loss, or null
 * @param lr          current learning rate, or null
 * @param itPerSec    iterations per second, or null
 * @param etaSeconds  estimated seconds to the end, or null
 * @param artifact    {@code s3://bucket/key} of the checkpoint, sample or final model; required for
 *                    {@code checkpoint}, {@code sample}, {@code completed}
 * @param message     human-readable text; required for {@code failed}
 * @param time        when it happened (ISO-8601 UTC)
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonPropertyOrder({"jobId", "type", "stage", "step", "totalSteps", "epoch", "totalEpochs", "loss", "avgLoss", "lr",
        "itPerSec", "etaSeconds", "artifact", "message", "time"})
public record TrainingProgress(String jobId, ProgressType type, Stage stage, Long step, Long totalSteps,
                               Integer epoch, Integer totalEpochs, Double loss, Double avgLoss, Double lr,
                               Double itPerSec, Double etaSeconds, String artifact, String message, Instant time) {

    public TrainingProgress {
        Fields.requiredText(jobId, "training.progress", "jobId");
        Fields.required(type, "training.progress", "type");
        Fields.required(stage, "training.progress", "stage");
        Fields.required(time, "training.progress", "time");
        if (type.carriesArtifact() && (artifact == null || !artifact.startsWith("s3://"))) {
            throw new IllegalArgumentException("training.progress: a '" + type.wire()
                    + "' event needs 'artifact' as an s3:// URI, got " + artifact);
        }
        if (type == ProgressType.FAILED && (message == null || message.isBlank())) {
            throw new IllegalArgumentException("training.progress: a 'failed' event needs a 'message'");
        }
    }

    /** An event with only the required fields (e.g. {@code submitted}, {@code started}, {@code cancelled}). */
    public static TrainingProgress of(String jobId, ProgressType type, Stage stage, Instant time) {
        return new TrainingProgress(jobId, type, stage, null, null, null, null, null, null, null, null, null,
                null, null, time);
    }

    /** A {@code failed} event. */
    public static TrainingProgress failed(String jobId, Stage stage, String message, Instant time) {
        return new TrainingProgress(jobId, ProgressType.FAILED, stage, null, null, null, null, null, null, null,
                null, null, null, message, time);
    }

    /** A {@code checkpoint}, {@code sample} or {@code completed} event for an artifact. */
    public static TrainingProgress artifact(String jobId, ProgressType type, Stage stage, long step, String artifact,
                                            Instant time) {
        return new TrainingProgress(jobId, type, stage, step, null, null, null, null, null, null, null, null,
                artifact, null, time);
    }
}
