package dev.kiln.trainer.state;

import dev.kiln.diffusion.train.DiffusionTrainer;
import dev.kiln.diffusion.train.RunOutputs;
import dev.kiln.diffusion.train.TrainingState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.BooleanSupplier;

/**
 * The job's own outputs (sd-scripts' saves and samples, {@code delegate}) plus what a service needs to survive a lost
 * trainer: a resumable state uploaded every {@code everySteps} steps or {@code interval}, whichever comes first, and
 * at a graceful stop ({@code stopping}), where the run ends through the cancel path without being a cancel.
 */
public final class PeriodicState implements RunOutputs {

    private final RunOutputs delegate;
    private final StateStore store;
    private final String jobId;
    private final Path scratch;
    private final long everySteps;
    private final Duration interval;
    private final Clock clock;
    private final BooleanSupplier stopping;
    private long lastSavedStep;
    private Instant lastSavedAt;

    public PeriodicState(RunOutputs delegate, StateStore store, String jobId, Path scratch, long everySteps,
                         Duration interval, Clock clock, BooleanSupplier stopping, long startStep) {
        this.delegate = delegate;
        this.store = store;
        this.jobId = jobId;
        this.scratch = scratch;
        this.everySteps = everySteps;
        this.interval = interval;
        this.clock = clock;
        this.stopping = stopping;
        this.lastSavedStep = startStep;
        this.lastSavedAt = clock.instant();
    }

    @Override
    public void atStart(long step, DiffusionTrainer trainer) {
        delegate.atStart(step, trainer);
    }

    @Override
    public void afterStep(long step, int epoch, TrainingState state, DiffusionTrainer trainer) {
        delegate.afterStep(step, epoch, state, trainer);
        if (step - lastSavedStep >= everySteps || !clock.instant().isBefore(lastSavedAt.plus(interval))) {
            save(state, trainer);
        }
    }

    @Override
    public void afterEpoch(long step, int epoch, int epochs, TrainingState state, DiffusionTrainer trainer) {
        delegate.afterEpoch(step, epoch, epochs, state, trainer);
    }

    @Override
    public void saveNow(long step, int epoch, TrainingState state, DiffusionTrainer trainer) {
        delegate.saveNow(step, epoch, state, trainer);
        save(state, trainer);
    }

    @Override
    public void sampleNow(long step, int epoch, DiffusionTrainer trainer) {
        delegate.sampleNow(step, epoch, trainer);
    }

    @Override
    public void cancelled(long step, int epoch, TrainingState state, DiffusionTrainer trainer) {
        if (stopping.getAsBoolean()) {
            if (step > lastSavedStep) {
                save(state, trainer); // a graceful stop: the next trainer continues from here
            }
        } else {
            delegate.cancelled(step, epoch, state, trainer);
        }
    }

    @Override
    public void atEnd(long step, int epochs, TrainingState state, DiffusionTrainer trainer) {
        delegate.atEnd(step, epochs, state, trainer);
    }

    /** The step of the newest uploaded state. */
    public long lastSavedStep() {
        return lastSavedStep;
    }

    private void save(TrainingState state, DiffusionTrainer trainer) {
        Path dir = scratch.resolve("step-" + state.step());
        trainer.saveState(dir, state);
        store.upload(jobId, dir, state.step());
        try {
            TrainingState.deleteTree(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + dir, e);
        }
        lastSavedStep = state.step();
        lastSavedAt = clock.instant();
    }
}
