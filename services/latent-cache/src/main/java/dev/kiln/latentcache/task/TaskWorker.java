package dev.kiln.latentcache.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import dev.kiln.diffusion.image.ImageTensors;
import dev.kiln.diffusion.train.latent.LatentCache;
import dev.kiln.diffusion.train.latent.LatentEncoder;
import dev.kiln.diffusion.train.latent.LocalLatents;
import dev.kiln.latentcache.LatentCacheConfig;
import dev.kiln.latentcache.job.JobStates;
import dev.kiln.latentcache.model.VaeModels;
import dev.kiln.model.dataset.BucketChoice;
import dev.kiln.model.dataset.Size;
import dev.kiln.model.events.LatentTask;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import dev.kiln.worker.kafka.PausingConsumerLoop.Outcome;
import dev.kiln.worker.model.ModelLoadException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jboss.logging.Logger;

/**
 * Encodes the latents of {@code kiln.latents.tasks} records: for each target not yet in the bucket, the image is
 * downloaded, checked against the planned sha256, resized, centre-cropped and flipped exactly as the plan says
 * ({@link LatentEncoder}, the engine's own), encoded and uploaded to {@code cache/latents/<vae-sha>/}. Idempotent:
 * a redelivered task finds its objects and does nothing. An image that cannot be encoded is reported to its job's
 * owner ({@link JobStates#fail}); a storage outage leaves the batch for redelivery.
 */
@ApplicationScoped
public class TaskWorker {
    private static final Logger LOG = Logger.getLogger(TaskWorker.class);

    private final S3Storage storage;
    private final VaeModels models;
    private final JobStates states;
    private final Path workDir;
    private final AtomicBoolean stopping = new AtomicBoolean();

    @Inject
    public TaskWorker(S3Storage storage, VaeModels models, LatentCacheConfig config) {
        this.storage = storage;
        this.models = models;
        this.states = new JobStates(storage);
        this.workDir = config.workDir().resolve("tasks");
    }

    public void stop() {
        stopping.set(true);
    }

    public void reset() {
        stopping.set(false);
    }

    /** Handles a polled batch, one task after the other. */
    public Outcome handle(List<ConsumerRecord<String, String>> records) {
        JniUtils.setGradMode(false); // per thread: inference only
        for (ConsumerRecord<String, String> record : records) {
            if (stopping.get()) {
                return Outcome.REDELIVER; // what is done stays done; the rest comes again
            }
            LatentTask task;
            try {
                task = Json.read(record.value(), LatentTask.class);
            } catch (IllegalArgumentException e) {
                LOG.warnf("latents.tasks record %s-%d@%d ignored: %s", record.topic(), record.partition(),
                        record.offset(), e.getMessage());
                continue;
            }
            try {
                encode(task);
            } catch (StorageException e) {
                LOG.errorf("job %s: %s: storage unavailable (%s); the task is retried", task.jobId(),
                        task.imageKey(), e.getMessage());
                pause();
                return Outcome.REDELIVER;
            }
        }
        return Outcome.COMMIT;
    }

    /** Encodes and uploads the task's missing latents; returns how many it wrote. */
    public int encode(LatentTask task) {
        if (!ObjectKeys.isSafe(ObjectKeys.jobSpec(task.jobId())) || !ObjectKeys.isSafe(task.imageKey())
                || !task.vaeSha256().matches("[0-9a-f]{64}")) {
            LOG.warnf("latents task for job '%s', image '%s' ignored: unusable job id, key or VAE hash", task.jobId(),
                    task.imageKey());
            return 0;
        }
        List<LatentTask.Target> missing = new ArrayList<>();
        for (LatentTask.Target t : task.targets()) {
            if (!storage.exists(key(task, t).objectKey(task.vaeSha256()))) {
                missing.add(t);
            }
        }
        if (missing.isEmpty() || states.hasFailed(task.jobId())) {
            return 0; // cached already (a redelivery, another job), or the job has failed: nothing to do
        }
        Path dir = workDir.resolve(UUID.randomUUID().toString());
        try {
            VaeModels.Vae vae;
            try {
                vae = models.get(task.modelKey(), VaeModels.options(task.v2(), task.vParameterization()));
            } catch (ModelLoadException e) {
                return failed(task, e.getMessage());
            }
            if (!vae.sha256().equals(task.vaeSha256())) {
                return failed(task, "base model " + task.modelKey() + " changed since the job was planned (VAE "
                        + vae.sha256() + ", planned " + task.vaeSha256() + ")");
            }
            Path file = dir.resolve("image");
            try {
                storage.getToFile(task.imageKey(), file);
            } catch (StorageException e) {
                if (e.isNotFound()) {
                    return failed(task, "the image does not exist any more");
                }
                throw e;
            }
            String sha = LocalLatents.fileSha256(file);
            if (!sha.equals(task.imageSha256())) {
                return failed(task, "the image changed since the job was planned (sha256 " + sha + ", planned "
                        + task.imageSha256() + ")");
            }
            BufferedImage image;
            try {
                image = ImageTensors.read(file);
            } catch (RuntimeException e) {
                String why = e.getMessage() + (e.getCause() != null ? ": " + e.getCause().getMessage() : "");
                return failed(task, "cannot be decoded: " + why.replace(file.toString(), task.imageKey()));
            }
            LatentCache local = new LatentCache(dir.resolve("latents"));
            try (NDManager manager = NDManager.newBaseManager()) {
                for (LatentTask.Target t : missing) {
                    LatentCache.Key key = key(task, t);
                    BucketChoice choice = new BucketChoice(new Size(t.width(), t.height()),
                            new Size(t.resizedWidth(), t.resizedHeight()), 0);
                    try (NDManager scope = manager.newSubManager()) {
                        NDArray latents = vae.encoder().encode(LatentEncoder.prepare(image, choice, t.flip()),
                                sha, t.flip(), scope);
                        local.write(key, latents);
                    } catch (RuntimeException e) {
                        return failed(task, "cannot be encoded at " + t.width() + "x" + t.height()
                                + (t.flip() ? " flipped" : "") + ": " + e.getMessage());
                    }
                    storage.putFile(key.objectKey(task.vaeSha256()), local.file(key), "application/octet-stream");
                }
            }
            return missing.size();
        } finally {
            deleteQuietly(dir);
        }
    }

    private int failed(LatentTask task, String message) {
        LOG.errorf("job %s: %s: %s", task.jobId(), task.imageKey(), message);
        states.fail(new JobStates.Failure(task.jobId(), task.imageKey(), task.imageSha256(), message));
        return 0;
    }

    private static LatentCache.Key key(LatentTask task, LatentTask.Target t) {
        return new LatentCache.Key(task.imageSha256(), t.width(), t.height(), t.flip());
    }

    private static void pause() {
        try {
            Thread.sleep(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warnf("cannot delete %s: %s", dir, e.getMessage());
        }
    }
}
