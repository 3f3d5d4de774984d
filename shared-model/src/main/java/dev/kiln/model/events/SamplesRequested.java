package dev.kiln.model.events;

import java.util.List;

/**
 * {@code kiln.samples.requested} (key = job): sample images wanted from a checkpoint.
 *
 * @param jobId         the job name
 * @param checkpointKey object key of the checkpoint to sample from
 * @param prompts       sd-scripts prompt lines ({@code "a photo of sks cat --w 512 --h 512 --s 30 --d 42"})
 * @param step          the global step the checkpoint was saved at
 * @param epoch         the epoch the checkpoint was saved in
 */
public record SamplesRequested(String jobId, String checkpointKey, List<String> prompts, long step, int epoch) {

    public SamplesRequested {
        Fields.requiredText(jobId, "samples.requested", "jobId");
        Fields.requiredText(checkpointKey, "samples.requested", "checkpointKey");
        Fields.required(prompts, "samples.requested", "prompts");
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("samples.requested: 'prompts' must not be empty");
        }
        prompts = List.copyOf(prompts);
        Fields.nonNegative(step, "samples.requested", "step");
        Fields.nonNegative(epoch, "samples.requested", "epoch");
    }
}
