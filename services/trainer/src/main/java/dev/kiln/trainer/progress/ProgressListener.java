package dev.kiln.trainer.progress;

import dev.kiln.diffusion.train.TrainingListener;
import dev.kiln.model.events.ProgressType;
import dev.kiln.model.events.Stage;
import dev.kiln.model.events.TrainingProgress;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.trainer.state.StateStore;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Turns one job's engine callbacks into progress events: {@code started}, {@code step} (at most one per
 * {@code interval}, the last step always, and the latest one before any other event so no step is skipped at the
 * end), {@code epoch}, and {@code checkpoint} / {@code sample} once the file is uploaded to {@code outputs/<job>/}.
 */
public final class ProgressListener implements TrainingListener {

    private final String jobId;
    private final ProgressEvents events;
    private final S3Storage storage;
    private final StateStore states;
    private final Duration interval;
    private final Clock clock;
    private Instant lastStepSent;
    private StepReport unsent;
    private long lastStep;
    private int lastEpoch;
    private long totalSteps;
    private int totalEpochs;
    private String lastCheckpointKey;

    public ProgressListener(String jobId, ProgressEvents events, S3Storage storage, StateStore states,
                            Duration interval, Clock clock) {
        this.jobId = jobId;
        this.events = events;
        this.storage = storage;
        this.states = states;
        this.interval = interval;
        this.clock = clock;
    }

    @Override
    public void started(long step, long totalSteps, int epoch, int totalEpochs) {
        this.totalSteps = totalSteps;
        this.totalEpochs = totalEpochs;
        this.lastStep = step;
        this.lastEpoch = epoch;
        events.send(new TrainingProgress(jobId, ProgressType.STARTED, Stage.TRAINING, step, totalSteps, epoch,
                totalEpochs, null, null, null, null, null, null, null, now()));
    }

    @Override
    public void step(StepReport report) {
        lastStep = report.step();
        lastEpoch = report.epoch();
        Instant now = now();
        boolean due = lastStepSent == null || !now.isBefore(lastStepSent.plus(interval))
                || report.step() >= report.totalSteps();
        if (due) {
            sendStep(report, now);
        } else {
            unsent = report;
        }
    }

    @Override
    public void epoch(int epoch, int totalEpochs, double averageLoss) {
        flush();
        events.send(new TrainingProgress(jobId, ProgressType.EPOCH, Stage.TRAINING, lastStep, totalSteps, epoch,
                totalEpochs, null, finite(averageLoss), null, null, null, null, null, now()));
    }

    @Override
    public void checkpoint(Path model, Path state, long step, int epoch) {
        flush();
        String key = ObjectKeys.requireSafe(ObjectKeys.outputPrefix(jobId) + model.getFileName());
        if (java.nio.file.Files.isDirectory(model)) {
            // save_model_as = "diffusers": the folder under the same name, the artifact its prefix
            key = key + "/";
            states.uploadTree(model, key);
        } else {
            storage.putFile(key, model, "application/octet-stream");
        }
        if (state != null) {
            states.uploadTree(state, ObjectKeys.outputPrefix(jobId) + state.getFileName() + "/");
        }
        lastCheckpointKey = key;
        events.send(new TrainingProgress(jobId, ProgressType.CHECKPOINT, Stage.TRAINING, step, totalSteps, epoch,
                totalEpochs, null, null, null, null, null, ObjectKeys.s3Uri(storage.bucket(), key), null, now()));
    }

    @Override
    public void samples(List<Path> images, long step, int epoch) {
        flush();
        for (Path image : images) {
            String key = ObjectKeys.requireSafe(ObjectKeys.outputPrefix(jobId) + "samples/" + image.getFileName());
            storage.putFile(key, image, "image/png");
            events.send(new TrainingProgress(jobId, ProgressType.SAMPLE, Stage.SAMPLING, step, totalSteps, epoch,
                    totalEpochs, null, null, null, null, null, ObjectKeys.s3Uri(storage.bucket(), key), null, now()));
        }
    }

    /** Sends the latest step if it was held back by the rate limit (before a terminal event). */
    public void flush() {
        if (unsent != null) {
            sendStep(unsent, now());
        }
    }

    /** The object key of the last model uploaded (after a completed run: the final model). */
    public String lastCheckpointKey() {
        return lastCheckpointKey;
    }

    public long lastStep() {
        return lastStep;
    }

    public int lastEpoch() {
        return lastEpoch;
    }

    private void sendStep(StepReport r, Instant now) {
        events.send(new TrainingProgress(jobId, ProgressType.STEP, Stage.TRAINING, r.step(), r.totalSteps(),
                r.epoch(), r.totalEpochs(), finite(r.loss()), finite(r.avgLoss()), finite(r.lr()),
                finite(r.itPerSec()), finite(r.etaSeconds()), null, null, now));
        lastStepSent = now;
        unsent = null;
    }

    private Instant now() {
        return clock.instant();
    }

    private static Double finite(double value) {
        return Double.isFinite(value) ? value : null;
    }
}
