package dev.kiln.latentcache.job;

import dev.kiln.diffusion.train.latent.LatentCache;
import dev.kiln.latentcache.LatentCacheConfig;
import dev.kiln.latentcache.messaging.Events;
import dev.kiln.latentcache.model.VaeModels;
import dev.kiln.latentcache.plan.ImageHashes;
import dev.kiln.latentcache.plan.PlannedLatents;
import dev.kiln.model.dataset.ConfigException;
import dev.kiln.model.events.JobPlanned;
import dev.kiln.model.events.LatentTask;
import dev.kiln.model.events.LatentsCached;
import dev.kiln.model.events.ProgressType;
import dev.kiln.model.events.Stage;
import dev.kiln.model.events.TrainingProgress;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.job.JobSpecParser;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.service.storage.ObjectInfo;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import dev.kiln.worker.kafka.PausingConsumerLoop.Outcome;
import dev.kiln.worker.model.ModelLoadException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * The owner's side of one planned job: works out every (image, bucket size, flip) latent the plan needs, counts those
 * already in {@code cache/latents/<vae-sha>/} as hits, publishes one task per image with missing latents on
 * {@code kiln.latents.tasks} (any instance's workers encode them), then watches the cache objects appear, reporting
 * {@code caching} progress, and ends with {@code kiln.latents.cached} — or with exactly one {@code failed} event naming
 * the image a worker could not encode, or the image it waited for in vain.
 *
 * <p>Its state ({@link JobStates}) makes it restartable: a new owner of the record (after a crash or a rebalance)
 * keeps the hit/miss counts, publishes tasks again only for what is still missing, and a job already ended is not
 * announced twice.
 */
@ApplicationScoped
public class JobCaching {
    private static final Logger LOG = Logger.getLogger(JobCaching.class);
    private static final long MAX_JOB_TOML_BYTES = 1 << 20;
    private static final long MAX_PLAN_BYTES = 256L << 20;

    private final S3Storage storage;
    private final Events events;
    private final VaeModels models;
    private final LatentCacheConfig config;
    private final JobStates states;
    private final AtomicBoolean stopping = new AtomicBoolean();
    /** The job's record went to another owner in a rebalance: this one gives the job up. */
    private final AtomicBoolean abandoned = new AtomicBoolean();
    private final Clock clock = Clock.systemUTC();

    @Inject
    public JobCaching(S3Storage storage, Events events, VaeModels models, LatentCacheConfig config) {
        this.storage = storage;
        this.events = events;
        this.models = models;
        this.config = config;
        this.states = new JobStates(storage);
    }

    /** Asks the job in hand to stop; it returns {@link Outcome#REDELIVER} so the next owner continues it. */
    public void stop() {
        stopping.set(true);
    }

    public void reset() {
        stopping.set(false);
    }

    /** The record of the job in hand was revoked: stop owning it (the new owner continues from the state). */
    public void abandon() {
        abandoned.set(true);
    }

    private boolean leaving() {
        return stopping.get() || abandoned.get();
    }

    /** Caches the job's latents; {@link Outcome#REDELIVER} when stopped or when storage is unavailable. */
    public Outcome run(JobPlanned planned) {
        abandoned.set(false);
        try {
            return own(planned);
        } catch (StorageException e) {
            // S3 unavailable: nothing is lost by trying again (the state and the cache are idempotent)
            LOG.errorf("job %s: storage unavailable (%s); trying again", planned.jobId(), e.getMessage());
            sleep(Duration.ofSeconds(2));
            return Outcome.REDELIVER;
        }
    }

    private Outcome own(JobPlanned planned) {
        String job = planned.jobId();
        if (!ObjectKeys.isSafe(ObjectKeys.jobSpec(job)) || !ObjectKeys.isSafe(planned.planKey())) {
            LOG.warnf("jobs.planned for job '%s' (plan %s) ignored: not a usable job id or plan key", job,
                    planned.planKey());
            return Outcome.COMMIT;
        }
        JobStates.State state = states.read(job);
        ObjectInfo plan;
        try {
            plan = storage.stat(planned.planKey());
        } catch (StorageException e) {
            if (!e.isNotFound()) {
                throw e;
            }
            if (state != null && state.planETag().isEmpty() && state.status() == JobStates.Status.FAILED) {
                return Outcome.COMMIT; // reported already
            }
            return fail(job, "", null, planned.planKey() + " does not exist: nothing to cache");
        }
        boolean resumed = state != null && state.planETag().equals(plan.eTag());
        if (resumed && state.status() != JobStates.Status.RUNNING) {
            LOG.infof("job %s: latents already %s for this plan; not announced again", job,
                    state.status().name().toLowerCase());
            return Outcome.COMMIT;
        }
        try {
            return cache(planned, plan, resumed ? state : null);
        } catch (ConfigException | IllegalArgumentException | ModelLoadException | UncheckedIOException e) {
            return fail(job, plan.eTag(), resumed ? state : null, e.getMessage());
        }
    }

    private Outcome cache(JobPlanned planned, ObjectInfo plan, JobStates.State resumed) {
        String job = planned.jobId();
        JobSpec spec = JobSpecParser.parse(readText(ObjectKeys.jobSpec(job), MAX_JOB_TOML_BYTES),
                ObjectKeys.jobSpec(job), job);
        String modelKey = spec.pretrainedModel();
        if (modelKey == null) {
            throw new IllegalArgumentException(ObjectKeys.jobSpec(job) + ": pretrained_model_name_or_path is not set");
        }
        Boolean v2 = spec.givenArguments().contains("v2") ? spec.flag("v2") : null;
        Boolean vPred = spec.givenArguments().contains("v_parameterization") ? spec.flag("v_parameterization") : null;
        VaeModels.Vae vae = models.get(modelKey, VaeModels.options(v2, vPred));

        Map<String, List<LatentTask.Target>> wanted = PlannedLatents.read(
                readText(planned.planKey(), MAX_PLAN_BYTES), planned.planKey());
        ImageHashes hashes = new ImageHashes(storage);
        // every latent (object key) the plan needs, and which image it comes from
        Map<String, String> imageOfLatent = new LinkedHashMap<>();
        Map<String, LatentTask> missingByImage = new LinkedHashMap<>();
        for (Map.Entry<String, List<LatentTask.Target>> image : wanted.entrySet()) {
            String imageKey = image.getKey();
            String sha = hashes.sha256(imageKey);
            Set<String> present = new HashSet<>();
            for (ObjectInfo o : storage.list(ObjectKeys.LATENT_CACHE + vae.sha256() + "/" + sha + "_", false)) {
                present.add(o.key());
            }
            List<LatentTask.Target> missing = new ArrayList<>();
            for (LatentTask.Target t : image.getValue()) {
                String key = new LatentCache.Key(sha, t.width(), t.height(), t.flip()).objectKey(vae.sha256());
                if (imageOfLatent.putIfAbsent(key, imageKey) == null && !present.contains(key)) {
                    missing.add(t);
                }
            }
            if (!missing.isEmpty()) {
                missingByImage.put(imageKey, new LatentTask(job, modelKey, v2, vPred, vae.sha256(), imageKey, sha,
                        missing));
            }
        }
        Deque<String> waiting = new ArrayDeque<>();
        Map<String, String> imageOfWaiting = new LinkedHashMap<>();
        for (LatentTask task : missingByImage.values()) {
            for (LatentTask.Target t : task.targets()) {
                String key = new LatentCache.Key(task.imageSha256(), t.width(), t.height(), t.flip())
                        .objectKey(vae.sha256());
                waiting.add(key);
                imageOfWaiting.put(key, task.imageKey());
            }
        }
        long total = imageOfLatent.size();
        JobStates.State state = resumed != null ? resumed
                : new JobStates.State(job, plan.eTag(), vae.sha256(), total - waiting.size(), waiting.size(),
                        JobStates.Status.RUNNING);
        if (resumed == null) {
            states.clearFailures(job);
        }
        states.write(state); // before the tasks: a restarted owner keeps these counts
        events.tasks(List.copyOf(missingByImage.values()));
        LOG.infof("job %s: %d latent(s) for %d image(s) with VAE %s: %d cached, %d to encode in %d task(s)%s", job,
                total, wanted.size(), vae.sha256().substring(0, 12), total - waiting.size(), waiting.size(),
                missingByImage.size(), resumed != null ? " (resumed)" : "");
        return watch(job, planned.planKey(), state, total, waiting, imageOfWaiting);
    }

    /** Waits until every latent in {@code waiting} is in the bucket, reporting progress; or until a failure. */
    private Outcome watch(String job, String planKey, JobStates.State state, long total, Deque<String> waiting,
                          Map<String, String> imageOfWaiting) {
        Progress progress = new Progress(job, total, total - waiting.size());
        progress.report(true);
        long lastGain = System.nanoTime();
        while (!waiting.isEmpty()) {
            if (leaving()) {
                LOG.infof("job %s: stopping with %d latent(s) outstanding; the next owner continues", job,
                        waiting.size());
                return Outcome.REDELIVER;
            }
            List<JobStates.Failure> failures = states.failures(job);
            if (!failures.isEmpty()) {
                JobStates.Failure first = failures.get(0);
                return fail(job, state.planETag(), state, "latent caching failed: " + first.imageKey() + ": " + first.message()
                        + (failures.size() > 1 ? " (and " + (failures.size() - 1) + " more image(s))" : ""));
            }
            int checks = Math.min(waiting.size(), Math.max(1, config.checksPerRound()));
            int gained = 0;
            for (int i = 0; i < checks; i++) {
                String key = waiting.poll();
                if (storage.exists(key)) {
                    gained++;
                } else {
                    waiting.add(key);
                }
            }
            if (gained > 0) {
                lastGain = System.nanoTime();
                progress.done(total - waiting.size());
                progress.report(waiting.isEmpty());
            } else if (System.nanoTime() - lastGain > config.stallTimeout().toNanos()) {
                String key = waiting.peek();
                return fail(job, state.planETag(), state, "latent caching stalled: no latent written for " + config.stallTimeout()
                        + " with " + waiting.size() + " outstanding, e.g. " + imageOfWaiting.get(key) + " (" + key
                        + "); are latent-cache workers running?");
            }
            if (!waiting.isEmpty()) {
                sleep(config.checkInterval());
            }
        }
        events.cached(new LatentsCached(job, planKey, state.hits(), state.misses()));
        states.write(state.with(JobStates.Status.CACHED)); // after the event: a crash in between announces it twice
        LOG.infof("job %s: latents cached (%d hits, %d misses)", job, state.hits(), state.misses());
        return Outcome.COMMIT;
    }

    private Outcome fail(String job, String planETag, JobStates.State state, String message) {
        LOG.errorf("job %s: %s", job, message);
        if (leaving()) {
            return Outcome.REDELIVER;
        }
        events.progress(TrainingProgress.failed(job, Stage.CACHING, message, clock.instant()));
        if (state != null) {
            states.write(state.with(JobStates.Status.FAILED));
        } else {
            states.write(new JobStates.State(job, planETag, "", 0, 0, JobStates.Status.FAILED));
        }
        return Outcome.COMMIT;
    }

    private String readText(String key, long limit) {
        try {
            ObjectInfo info = storage.stat(key);
            if (info.size() > limit) {
                throw new IllegalArgumentException(key + " is larger than " + limit + " bytes");
            }
            try (InputStream in = storage.get(key)) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        } catch (StorageException e) {
            if (!e.isNotFound()) {
                throw e; // unavailable: tried again
            }
            throw new IllegalArgumentException(key + " does not exist", e);
        } catch (IOException e) {
            throw new UncheckedIOException(key + " cannot be read: " + e.getMessage(), e);
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code caching} progress events: done/total as step/totalSteps, latents per second, ETA; rate-limited. */
    private final class Progress {
        private final String job;
        private final long total;
        private final long startDone;
        private final long started = System.nanoTime();
        private long done;
        private long lastSent = Long.MIN_VALUE;

        Progress(String job, long total, long done) {
            this.job = job;
            this.total = total;
            this.startDone = done;
            this.done = done;
        }

        void done(long value) {
            done = value;
        }

        void report(boolean always) {
            long now = System.nanoTime();
            if (!always && lastSent != Long.MIN_VALUE && now - lastSent < config.progressInterval().toNanos()) {
                return;
            }
            lastSent = now;
            double seconds = (now - started) / 1e9;
            Double rate = done > startDone && seconds > 0 ? (done - startDone) / seconds : null;
            Double eta = null;
            if (rate != null) {
                eta = (total - done) / rate;
            } else if (done == total) {
                eta = 0.0;
            }
            events.progress(new TrainingProgress(job, ProgressType.CACHING, Stage.CACHING, done, total, null, null,
                    null, null, null, rate, eta, null, "latents " + done + "/" + total, clock.instant()));
        }
    }
}
