package dev.kiln.model.events;

/**
 * {@code kiln.latents.cached} (key = job): every latent the plan needs is in the cache.
 *
 * @param jobId   the job name
 * @param planKey the plan whose latents are cached
 * @param hits    latents that were already cached
 * @param misses  latents computed for this job
 */
public record LatentsCached(String jobId, String planKey, long hits, long misses) {

    public LatentsCached {
        Fields.requiredText(jobId, "latents.cached", "jobId");
        Fields.requiredText(planKey, "latents.cached", "planKey");
        Fields.nonNegative(hits, "latents.cached", "hits");
        Fields.nonNegative(misses, "latents.cached", "misses");
    }
}
