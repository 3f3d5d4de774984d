package dev.kiln.trainer;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;

/** Settings of the trainer service ({@code kiln.trainer.*}). */
@ConfigMapping(prefix = "kiln.trainer")
public interface TrainerConfig {

    /** Consume {@code kiln.latents.cached} and train; false leaves only health and metrics. */
    @WithDefault("true")
    boolean enabled();

    /** Consumer group of the job consumer: every trainer instance of a deployment shares it. */
    @WithDefault("kiln-trainer")
    String groupId();

    /** Where a job's objects are mirrored while it trains (one folder per job, deleted when it ends). */
    Path workDir();

    /** Least time between two {@code step} progress events (the last step is always sent). */
    @WithDefault("500ms")
    Duration stepEventInterval();

    /** A resumable state is uploaded to {@code outputs/<job>/state/} every this many steps ... */
    @WithDefault("100")
    long stateEverySteps();

    /** ... or when this much time passed since the last one, whichever comes first. */
    @WithDefault("10m")
    Duration stateInterval();

    /** How long a graceful stop waits for the running step to end and its state to be uploaded. */
    @WithDefault("2m")
    Duration stopTimeout();
}
