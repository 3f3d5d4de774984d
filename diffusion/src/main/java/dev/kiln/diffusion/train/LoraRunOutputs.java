package dev.kiln.diffusion.train;

import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.image.ImageTensors;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.sampling.ImageGenerator;
import dev.kiln.diffusion.sampling.SamplePrompt;
import dev.kiln.diffusion.sampling.StepListener;
import dev.kiln.diffusion.sampling.TextToImage;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import dev.kiln.diffusion.train.save.LoraMetadata;
import dev.kiln.diffusion.train.save.OutputNames;
import dev.kiln.diffusion.train.save.SampleSchedule;
import dev.kiln.diffusion.train.save.SaveSchedule;
import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.job.JobSpec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * sd-scripts' outputs of a training run (any {@link TrainingMethod}) in {@code output_dir}: model files at {@code save_every_n_epochs} /
 * {@code save_every_n_steps} (pruned to {@code save_last_n_*}), the final model, training states with
 * {@code save_state}, and sample images under {@code sample/} at {@code sample_every_n_*} — with sd-scripts' names.
 */
public final class LoraRunOutputs implements RunOutputs {

    private final JobSpec job;
    private final TrainingSettings settings;
    private final StableDiffusionModel model;
    private final ClipTokenizer tokenizer;
    private final List<SamplePrompt> prompts;
    private final Path outputDir;
    private final TrainingListener listener;
    private final String outputName;
    private final SaveSchedule saves;
    private final SampleSchedule samples;
    private final NDManager manager;
    private final SampleRequests sampleRequests;

    /**
     * @param manager       for sample rendering (freed per image)
     * @param sampleRequests where sample points go instead of rendering here, or null to render into
     *                       {@code output_dir/sample/}
     */
    public LoraRunOutputs(JobSpec job, DatasetPlan plan, TrainingSettings settings, StableDiffusionModel model,
                          ClipTokenizer tokenizer, List<SamplePrompt> prompts, Path outputDir,
                          TrainingListener listener, NDManager manager, SampleRequests sampleRequests) {
        this.job = job;
        this.settings = settings;
        this.model = model;
        this.tokenizer = tokenizer;
        this.prompts = List.copyOf(prompts);
        this.outputDir = outputDir;
        this.listener = listener;
        this.manager = manager;
        this.sampleRequests = sampleRequests;
        this.outputName = outputName(job);
        this.saves = SaveSchedule.of(job, plan.epochs());
        this.samples = SampleSchedule.of(job);
    }

    /** {@code output_name}; train_textual_inversion.py falls back to the token string. */
    static String outputName(JobSpec job) {
        String name = job.stringArgument("output_name");
        return name == null && job.method() == dev.kiln.model.job.Method.TEXTUAL_INVERSION
                ? job.stringArgument("token_string") : name;
    }

    @Override
    public void atStart(long step, DiffusionTrainer trainer) {
        if (step == 0 && samples.atStart()) {
            sample(trainer, 0, 0, 0);
        }
    }

    @Override
    public void afterStep(long step, int epoch, TrainingState state, DiffusionTrainer trainer) {
        Path stateDir = null;
        if (saves.shouldSaveStateAfterStep(step)) {
            stateDir = outputDir.resolve(OutputNames.stepState(outputName, step));
            trainer.saveState(stateDir, state);
            saves.stepStateToRemove(step).ifPresent(old -> delete(outputDir.resolve(OutputNames.stepState(outputName, old))));
        }
        if (saves.shouldSaveAfterStep(step)) {
            Path file = outputDir.resolve(OutputNames.stepModel(outputName, step, ext(trainer)));
            save(trainer, file, TrainingMethod.SaveKind.STEP, step, epoch - 1);
            saves.stepToRemove(step).ifPresent(old -> delete(outputDir.resolve(OutputNames.stepModel(outputName, old, ext(trainer)))));
            listener.checkpoint(file, stateDir, step, epoch);
        }
        if (samples.afterStep(step)) {
            sample(trainer, null, step, epoch);
        }
    }

    @Override
    public void afterEpoch(long step, int epoch, int epochs, TrainingState state, DiffusionTrainer trainer) {
        Path stateDir = null;
        if (saves.shouldSaveStateAfterEpoch(epoch, epochs)) {
            stateDir = outputDir.resolve(OutputNames.epochState(outputName, epoch));
            trainer.saveState(stateDir, state);
            saves.epochStateToRemove(epoch).ifPresent(old -> delete(outputDir.resolve(OutputNames.epochState(outputName, old))));
        }
        if (saves.shouldSaveAfterEpoch(epoch, epochs)) {
            Path file = outputDir.resolve(OutputNames.epochModel(outputName, epoch, ext(trainer)));
            save(trainer, file, TrainingMethod.SaveKind.EPOCH, step, epoch);
            saves.epochToRemove(epoch).ifPresent(old -> delete(outputDir.resolve(OutputNames.epochModel(outputName, old, ext(trainer)))));
            listener.checkpoint(file, stateDir, step, epoch);
        }
        if (samples.afterEpoch(epoch, step)) {
            sample(trainer, epoch, step, epoch);
        }
    }

    /** {@code save-now}: a step model and its training state, whatever the schedule says. */
    @Override
    public void saveNow(long step, int epoch, TrainingState state, DiffusionTrainer trainer) {
        Path stateDir = outputDir.resolve(OutputNames.stepState(outputName, step));
        trainer.saveState(stateDir, state);
        Path file = outputDir.resolve(OutputNames.stepModel(outputName, step, ext(trainer)));
        save(trainer, file, TrainingMethod.SaveKind.STEP, step, epoch - 1);
        listener.checkpoint(file, stateDir, step, epoch);
    }

    @Override
    public void sampleNow(long step, int epoch, DiffusionTrainer trainer) {
        sample(trainer, null, step, epoch);
    }

    @Override
    public void atEnd(long step, int epochs, TrainingState state, DiffusionTrainer trainer) {
        Path stateDir = null;
        if (saves.shouldSaveStateAtEnd()) {
            stateDir = outputDir.resolve(OutputNames.finalState(outputName));
            trainer.saveState(stateDir, state);
        }
        Path file = outputDir.resolve(OutputNames.finalModel(outputName, ext(trainer)));
        save(trainer, file, TrainingMethod.SaveKind.FINAL, step, epochs);
        listener.checkpoint(file, stateDir, step, epochs);
    }

    /** The method's file extension, or null for a folder (OutputNames then yields the name without a dot). */
    private static String ext(DiffusionTrainer trainer) {
        return trainer.method().fileExtension();
    }

    private static double now() {
        return LoraMetadata.unixTime(java.time.Instant.now());
    }

    private void save(DiffusionTrainer trainer, Path file, TrainingMethod.SaveKind kind, long step, long epoch) {
        try {
            Files.createDirectories(outputDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create output_dir " + outputDir, e);
        }
        trainer.method().save(file, kind, step, epoch, now());
    }

    private static void delete(Path path) {
        try {
            TrainingState.deleteTree(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove old output " + path, e);
        }
    }

    /**
     * A sample point: {@code fileEpoch} is the epoch sd-scripts names the files by (null: by step), {@code epoch} the
     * epoch the run is in. A LoRA run with {@link SampleRequests} hands its network over; everything else renders here
     * (a whole-model checkpoint per sample point would be gigabytes to move).
     */
    private void sample(DiffusionTrainer trainer, Integer fileEpoch, long step, int epoch) {
        if (prompts.isEmpty()) {
            return;
        }
        if (sampleRequests != null && trainer.method() instanceof LoraMethod) {
            Path file = outputDir.resolve(".sample-network-" + step + "." + ext(trainer));
            save(trainer, file, TrainingMethod.SaveKind.STEP, step, Math.max(epoch - 1, 0));
            sampleRequests.requested(file, prompts, step, epoch);
            return;
        }
        List<Path> written = sample(trainer, fileEpoch, step, manager);
        if (!written.isEmpty()) {
            listener.samples(written, step, fileEpoch == null ? 0 : fileEpoch);
        }
    }

    /** Renders every prompt with the network as trained so far; returns the written files. */
    List<Path> sample(DiffusionTrainer trainer, Integer epoch, long step, NDManager manager) {
        if (prompts.isEmpty()) {
            return List.of();
        }
        String defaultSampler = job.stringArgument("sample_sampler");
        ImageGenerator generator = trainer.method().sampler(settings.clipSkip(), manager);
        List<Path> written = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            SamplePrompt p = prompts.get(i);
            SamplePrompt request = p.resolved(defaultSampler, ThreadLocalRandom.current().nextLong(1L << 32));
            TextToImage.Generated image = generator.generate(request, manager, StepListener.NONE);
            Path file = outputDir.resolve(OutputNames.SAMPLE_DIR).resolve(
                    SampleSchedule.fileName(outputName, epoch, step, i, LocalDateTime.now(), p.seed()));
            ImageTensors.writePng(image.image(), file);
            written.add(file);
        }
        return written;
    }
}
