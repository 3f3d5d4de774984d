package dev.kiln.model.events;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * {@code kiln.jobs.submitted} (key = job): a {@code jobs/<job>/job.toml} was uploaded and parsed.
 *
 * @param jobId   the job name ({@code <job>} of the key)
 * @param specKey the object key of the job.toml
 * @param spec    the parsed job spec as a JSON object (TOML tables become objects)
 */
public record JobSubmitted(String jobId, String specKey, ObjectNode spec) {

    public JobSubmitted {
        Fields.requiredText(jobId, "jobs.submitted", "jobId");
        Fields.requiredText(specKey, "jobs.submitted", "specKey");
        Fields.required(spec, "jobs.submitted", "spec");
    }
}
