package dev.kiln.trainer.job;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import dev.kiln.diffusion.model.StableDiffusionLoader;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.train.LocalTraining;
import dev.kiln.diffusion.train.DiffusionTrainer;
import dev.kiln.diffusion.train.TrainingControl;
import dev.kiln.diffusion.train.TrainingState;
import dev.kiln.diffusion.train.latent.WeightsFingerprint;
import dev.kiln.model.dataset.ConfigException;
import dev.kiln.model.events.ProgressType;
import dev.kiln.model.events.Stage;
import dev.kiln.model.events.TrainingProgress;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.trainer.TrainerConfig;
import dev.kiln.trainer.control.ControlCommands;
import dev.kiln.trainer.progress.ProgressEvents;
import dev.kiln.trainer.progress.ProgressListener;
import dev.kiln.trainer.samples.SampleRequester;
import dev.kiln.trainer.state.PeriodicState;
import dev.kiln.trainer.state.StateStore;
import dev.kiln.trainer.workspace.JobWorkspace;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * Trains one job: mirrors its objects (and cached latents, and its last state when it was interrupted) into a work
 * folder, runs the engine as {@code kiln train} does (sample points go to the sampler service as
 * {@code kiln.samples.requested}), uploads checkpoints, states and new latents, and ends with
 * exactly one terminal event, recorded in {@code outputs/<job>/state/ended.json} first so no trainer runs it again.
 */
@ApplicationScoped
public class JobRunner {
    private static final Logger LOG = Logger.getLogger(JobRunner.class);

    /** What became of a job: it ended (commit its record) or the trainer is stopping (leave it for the next one). */
    public enum Outcome { ENDED, STOPPED }

    private final S3Storage storage;
    private final ProgressEvents events;
    private final ControlCommands controls;
    private final TrainerConfig config;
    private final StateStore states;
    private final SampleRequester samples;
    private final AtomicBoolean stopping = new AtomicBoolean();

    @Inject
    public JobRunner(S3Storage storage, ProgressEvents events, ControlCommands controls, TrainerConfig config,
                     SampleRequester samples) {
        this.storage = storage;
        this.samples = samples;
        this.events = events;
        this.controls = controls;
        this.config = config;
        this.states = new StateStore(storage);
    }

    /** Asks the running job to stop after its current step, saving a state to resume from. */
    public void stop() {
        stopping.set(true);
    }

    /** Lets jobs run again after {@link #stop()} (a restarted consumer). */
    public void reset() {
        stopping.set(false);
    }

    public Outcome run(String jobId) {
        if (!ObjectKeys.isSafe(ObjectKeys.jobSpec(jobId))) {
            LOG.warnf("latents.cached for job '%s' ignored: not a usable job id", jobId);
            return Outcome.ENDED;
        }
        StateStore.Ended ended = states.ended(jobId);
        if (ended != null) {
            LOG.infof("job %s already ended (%s at step %d); not training it again", jobId, ended.status(), ended.step());
            return Outcome.ENDED;
        }
        Path root = config.workDir().resolve("jobs").resolve(jobId);
        ProgressListener listener = new ProgressListener(jobId, events, storage, states, config.stepEventInterval(),
                Clock.systemUTC());
        try {
            deleteTree(root);
            Outcome outcome = train(jobId, new JobWorkspace(storage, root, config.workDir().resolve("models")),
                    listener);
            return outcome;
        } catch (ConfigException | IllegalArgumentException e) {
            return fail(jobId, listener, "jobs/" + jobId + "/job.toml: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            return fail(jobId, listener, "training failed: " + e.getMessage(), e);
        } finally {
            controls.forget(jobId);
            deleteTree(root);
        }
    }

    private Outcome train(String jobId, JobWorkspace workspace, ProgressListener listener) {
        JobSpec spec = workspace.mirror(jobId);
        Path root = workspace.root();
        try (NDManager manager = NDManager.newBaseManager()) {
            // grad mode is per thread: off for loading here; DiffusionTrainer.train switches it off on its own thread too
            JniUtils.setGradMode(false);
            StableDiffusionModel model = StableDiffusionLoader.load(root.resolve(spec.pretrainedModel()), manager,
                    LocalTraining.loadOptions(spec));
            String vaeSha = WeightsFingerprint.sha256(model.vaeWeights());
            Set<String> cached = workspace.mirrorLatents(vaeSha);
            Path resume = states.download(jobId, root.resolve(".resume"));
            if (resume != null) {
                LOG.infof("job %s: resuming from %s", jobId, ObjectKeys.statePrefix(jobId));
            }
            LocalTraining.Prepared prepared = LocalTraining.prepare(
                    new LocalTraining.Options(workspace.jobFile(jobId), root, null, resume), manager, listener, model,
                    samples.forJob(jobId));
            if (!prepared.outputDir().toAbsolutePath().normalize().startsWith(root.toAbsolutePath().normalize())) {
                throw new IllegalArgumentException("output_dir: " + spec.stringArgument("output_dir")
                        + " is outside the job's folder; leave it unset in a service job (outputs go to "
                        + ObjectKeys.outputPrefix(jobId) + ")");
            }
            int uploaded = workspace.uploadNewLatents(vaeSha, cached);
            LOG.infof("job %s: %d latent(s) reused, %d computed and cached", jobId, cached.size(), uploaded);
            TrainingState start = prepared.start();
            PeriodicState outputs = new PeriodicState(prepared.outputs(), states, jobId, root.resolve(".state"),
                    config.stateEverySteps(), config.stateInterval(), Clock.systemUTC(), stopping::get, start.step());
            TrainingControl control = () -> stopping.get() ? TrainingControl.Command.CANCEL : controls.poll(jobId);
            DiffusionTrainer.Result result = prepared.trainer().train(start, outputs, listener, control, manager);
            listener.flush();
            if (result.status() == DiffusionTrainer.Status.CANCELLED && stopping.get()) {
                LOG.infof("job %s: stopped at step %d; state %s kept for the next trainer", jobId, result.steps(),
                        ObjectKeys.statePrefix(jobId));
                return Outcome.STOPPED;
            }
            if (result.status() == DiffusionTrainer.Status.CANCELLED) {
                end(jobId, ProgressType.CANCELLED, null, result.steps(), listener);
            } else {
                String artifact = ObjectKeys.s3Uri(storage.bucket(), listener.lastCheckpointKey());
                end(jobId, ProgressType.COMPLETED, artifact, result.steps(), listener);
            }
            return Outcome.ENDED;
        }
    }

    private void end(String jobId, ProgressType type, String artifact, long step, ProgressListener listener) {
        // recorded before the event: a crash in between loses the event rather than training the job twice
        states.markEnded(new StateStore.Ended(jobId, type.wire(), artifact, step, Clock.systemUTC().instant()));
        events.send(new TrainingProgress(jobId, type, Stage.TRAINING, step, null, listener.lastEpoch(), null, null,
                null, null, null, null, artifact, null, Clock.systemUTC().instant()));
        LOG.infof("job %s: %s at step %d%s", jobId, type.wire(), step, artifact == null ? "" : " -> " + artifact);
    }

    private Outcome fail(String jobId, ProgressListener listener, String message, RuntimeException e) {
        LOG.errorf(e, "job %s: %s", jobId, message);
        if (stopping.get()) {
            return Outcome.STOPPED; // interrupted by the shutdown; the next trainer tries again
        }
        listener.flush();
        states.markEnded(new StateStore.Ended(jobId, ProgressType.FAILED.wire(), null, listener.lastStep(),
                Clock.systemUTC().instant()));
        events.send(TrainingProgress.failed(jobId, Stage.TRAINING, message, Clock.systemUTC().instant()));
        return Outcome.ENDED;
    }

    private static void deleteTree(Path dir) {
        try {
            if (Files.exists(dir)) {
                TrainingState.deleteTree(dir);
            }
        } catch (IOException e) {
            LOG.warnf("cannot remove work folder %s: %s", dir, e.getMessage());
        }
    }
}
