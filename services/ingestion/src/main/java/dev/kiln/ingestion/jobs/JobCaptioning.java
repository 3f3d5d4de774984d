package dev.kiln.ingestion.jobs;

import dev.kiln.model.job.JobSpec;

/**
 * Whether a job waits for the captioning service before it is planned: captioning is on when the job.toml has a
 * {@code [captioning]} table ({@link JobSpec#captioning()}), else off. When on, every accepted image of the job's
 * datasets needs a {@code kiln.images.captioned} record (from a sidecar, class tokens or the tagger) first.
 */
public final class JobCaptioning {
    private JobCaptioning() {
    }

    /** True when the job asks for tagging. */
    public static boolean captioningOn(JobSpec spec) {
        return spec.captioning() != null;
    }
}
