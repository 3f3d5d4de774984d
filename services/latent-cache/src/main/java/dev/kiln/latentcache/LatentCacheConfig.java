package dev.kiln.latentcache;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;

/** Settings of the latent-cache service ({@code kiln.latent-cache.*}). */
@ConfigMapping(prefix = "kiln.latent-cache")
public interface LatentCacheConfig {

    /** Consume {@code kiln.jobs.planned} and {@code kiln.latents.tasks}; false leaves only health and metrics. */
    @WithDefault("true")
    boolean enabled();

    /** Consumer group of the job owners ({@code kiln.jobs.planned}); every instance shares it. */
    @WithDefault("kiln-latent-cache-jobs")
    String jobsGroupId();

    /** Consumer group of the workers ({@code kiln.latents.tasks}); every instance shares it. */
    @WithDefault("kiln-latent-cache-workers")
    String tasksGroupId();

    /** Downloads (models, images) and encoded files before their upload; files are deleted when done. */
    Path workDir();

    /** Task consumers per instance, each encoding one image at a time (libtorch already uses every core for one). */
    @WithDefault("1")
    int workers();

    /** Task records per poll (handled one after the other, committed together). */
    @WithDefault("4")
    int taskBatch();

    /** Base models kept loaded. */
    @WithDefault("2")
    int cachedModels();

    /** Least time between two {@code caching} progress events of a job (the first and the last are always sent). */
    @WithDefault("1s")
    Duration progressInterval();

    /** How often the owner of a job looks for the latents it waits for. */
    @WithDefault("500ms")
    Duration checkInterval();

    /** Cache objects looked up per check (a rotating window over the missing ones). */
    @WithDefault("256")
    int checksPerRound();

    /** A job whose cache gains no latent for this long fails, naming an image it waits for. */
    @WithDefault("10m")
    Duration stallTimeout();

    /** How long a graceful stop waits for the work in hand. */
    @WithDefault("1m")
    Duration stopTimeout();
}
