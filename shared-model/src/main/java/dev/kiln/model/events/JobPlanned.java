package dev.kiln.model.events;

/**
 * {@code kiln.jobs.planned} (key = job): the job's plan is written.
 *
 * @param jobId       the job name
 * @param planKey     {@code outputs/<job>/plan.json}
 * @param imageCount  images in the plan (training and regularization, before repeats)
 * @param bucketCount aspect-ratio buckets in use
 * @param totalSteps  optimizer steps the training will run
 */
public record JobPlanned(String jobId, String planKey, int imageCount, int bucketCount, long totalSteps) {

    public JobPlanned {
        Fields.requiredText(jobId, "jobs.planned", "jobId");
        Fields.requiredText(planKey, "jobs.planned", "planKey");
        Fields.nonNegative(imageCount, "jobs.planned", "imageCount");
        Fields.nonNegative(bucketCount, "jobs.planned", "bucketCount");
        Fields.nonNegative(totalSteps, "jobs.planned", "totalSteps");
    }
}
