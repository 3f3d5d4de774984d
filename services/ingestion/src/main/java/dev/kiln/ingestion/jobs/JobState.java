package dev.kiln.ingestion.jobs;

import dev.kiln.ingestion.pipeline.OutgoingEvent;

import java.time.Instant;
import java.util.List;

/**
 * A submitted job as ingestion tracks it, kept in {@code state/jobs/<job>.json}.
 *
 * @param jobId       the job name
 * @param specKey     {@code jobs/<job>/job.toml}
 * @param eTag        the job.toml version (with the key, the idempotency identity)
 * @param stamp       the storage record that submitted it (see {@code ObjectRecord#stamp})
 * @param status      where the job stands
 * @param toml        the job.toml text, so a restart plans what was submitted
 * @param submittedAt when ingestion accepted it (the planning timeout counts from here)
 * @param message     why it failed, or null
 * @param emitted     the events the submission published
 */
public record JobState(String jobId, String specKey, String eTag, String stamp, Status status, String toml,
                       Instant submittedAt, String message, List<OutgoingEvent> emitted) {

    /** Where a job stands in ingestion. */
    public enum Status {
        /** Submitted; waiting until every object of its datasets has an outcome. */
        WAITING,
        /** plan.json written and kiln.jobs.planned published. */
        PLANNED,
        /** Invalid job.toml, planning error or timeout: a failed progress event was published. */
        FAILED
    }

    public JobState {
        emitted = emitted == null ? List.of() : List.copyOf(emitted);
    }

    JobState with(Status newStatus, String newMessage) {
        return new JobState(jobId, specKey, eTag, stamp, newStatus, toml, submittedAt, newMessage, emitted);
    }
}
