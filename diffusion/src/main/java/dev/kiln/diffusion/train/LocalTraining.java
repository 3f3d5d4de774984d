package dev.kiln.diffusion.train;

import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.dataset.LocalDatasetSource;
import dev.kiln.diffusion.model.LoadOptions;
import dev.kiln.diffusion.model.StableDiffusionLoader;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.sampling.SamplePrompt;
import dev.kiln.diffusion.sampling.SamplePrompts;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import dev.kiln.diffusion.train.latent.LatentCache;
import dev.kiln.diffusion.train.latent.LatentEncoder;
import dev.kiln.diffusion.train.latent.LocalLatents;
import dev.kiln.diffusion.train.latent.WeightsFingerprint;
import dev.kiln.diffusion.train.save.LoraMetadata;
import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.job.JobSpecParser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A whole training run on local files, with no Kafka or S3 ({@code kiln train job.toml --root DIR}, and the trainer
 * service once it has fetched a job's objects): the job is parsed, its dataset planned by the dataset engine, the base
 * model loaded, every latent cached under {@code DIR/cache/latents/<vae-sha>/}, then the job's method (LoRA, DreamBooth,
 * fine-tuning or Textual Inversion) trained with samples and saves as sd-scripts lays them out in the job's
 * {@code output_dir} (default {@code DIR/outputs/<job>}).
 */
public final class LocalTraining {

    /**
     * @param jobFile   the job.toml
     * @param root      the folder that image_dir, the model path, prompt files and output_dir are relative to
     * @param tokenizer a tokenizer folder replacing the model's (tiny test models have their own vocabulary), or null
     * @param resume    a state folder to continue from, or null (the job's {@code resume} argument, else a fresh run)
     */
    public record Options(Path jobFile, Path root, Path tokenizer, Path resume) {
    }

    /** A prepared run: everything loaded and cached, ready to train. */
    public record Prepared(JobSpec job, DatasetPlan plan, Path outputDir, DiffusionTrainer trainer, RunOutputs outputs,
                           TrainingState start) {
    }

    private LocalTraining() {
    }

    /** Parses and plans the job, loads the model, caches latents and builds the trainer. */
    public static Prepared prepare(Options options, NDManager manager, TrainingListener listener) {
        return prepare(options, manager, listener, null);
    }

    /**
     * As {@link #prepare(Options, NDManager, TrainingListener)} with an already loaded base model (a service that
     * keeps models in memory, a benchmark with generated weights), or null to load the job's.
     */
    public static Prepared prepare(Options options, NDManager manager, TrainingListener listener,
                                   StableDiffusionModel loaded) {
        return prepare(options, manager, listener, loaded, null);
    }

    /**
     * As {@link #prepare(Options, NDManager, TrainingListener, StableDiffusionModel)}, with sample points handed to
     * {@code sampleRequests} instead of rendered in this process (null renders them here).
     */
    public static Prepared prepare(Options options, NDManager manager, TrainingListener listener,
                                   StableDiffusionModel loaded, SampleRequests sampleRequests) {
        Path root = options.root();
        String fileName = options.jobFile().getFileName().toString();
        String jobName = jobName(options.jobFile());
        String text;
        try {
            text = Files.readString(options.jobFile(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + options.jobFile() + ": " + e.getMessage(), e);
        }
        JobSpec job = JobSpecParser.parse(text, fileName, jobName);
        DatasetPlan plan = new LocalDatasetSource(root).plan(job.dataset(), job.trainingLength());
        if (plan.totalSteps() == 0 || plan.batchesPerEpoch() == 0) {
            throw new IllegalArgumentException(fileName + ": the dataset has no images to train on"
                    + (plan.warnings().isEmpty() ? "" : " (" + String.join("; ", plan.warnings()) + ")"));
        }
        Path modelPath = root.resolve(job.pretrainedModel());
        if (loaded == null && !Files.exists(modelPath)) {
            throw new IllegalArgumentException("pretrained_model_name_or_path: " + modelPath + " does not exist");
        }
        StableDiffusionModel model = loaded != null ? loaded
                : StableDiffusionLoader.load(modelPath, manager, loadOptions(job));
        ClipTokenizer tokenizer = options.tokenizer() != null ? ClipTokenizer.fromFolder(options.tokenizer())
                : model.tokenizer();
        if (job.flag("v2")) {
            tokenizer = tokenizer.withPadId(0);
        }
        TrainingSettings settings = TrainingSettings.from(job, plan.totalSteps(), model.vParameterization());
        if (settings.networkWeights() != null) {
            Path weights = root.resolve(settings.networkWeights());
            if (!Files.isRegularFile(weights)) {
                throw new IllegalArgumentException("network_weights: " + weights + " is not a file");
            }
            settings = settings.withNetworkWeights(weights.toString());
        }

        LatentCache cache = new LatentCache(root.resolve("cache").resolve("latents")
                .resolve(WeightsFingerprint.sha256(model.vaeWeights())));
        LocalLatents latents = new LocalLatents(root, cache);
        latents.fill(plan, new LatentEncoder(model.vae()), manager, listener::caching);

        Path resume = options.resume() != null ? options.resume()
                : job.stringArgument("resume") != null ? root.resolve(job.stringArgument("resume")) : null;
        TrainingState start;
        if (resume != null) {
            if (!TrainingState.isState(resume)) {
                throw new IllegalArgumentException("resume: " + resume + " is not a Kiln training state folder");
            }
            start = TrainingState.read(resume);
            if (job.argument("seed") == null) {
                // no seed in the job: the run continues with the seed it started with (the order and noise replay)
                settings = settings.withSeed(start.seed());
            } else if (start.seed() != settings.seed()) {
                throw new IllegalArgumentException("resume: " + resume + " was trained with seed " + start.seed()
                        + ", the job says " + settings.seed());
            }
        } else {
            start = new TrainingState(0, 0, 0, false, settings.seed(), List.of(),
                    LoraMetadata.newSessionId(new java.security.SecureRandom()), LoraMetadata.unixTime(Instant.now()));
        }
        DiffusionTrainer.Setup setup = new DiffusionTrainer.Setup(settings, plan, model, tokenizer, latents);
        Path baseModelFile = Files.exists(modelPath) ? modelPath : null;
        TrainingMethod method = switch (job.method()) {
            case LORA -> new LoraMethod(setup, job, baseModelFile, start, manager);
            case TEXTUAL_INVERSION -> TextualInversionMethod.create(setup, job, root, manager);
            // a model handed in may be shared (a service's cache): train copies; one loaded here is trained in place
            case DREAMBOOTH, FINETUNE -> FullModelMethod.create(setup, job, baseModelFile, loaded == null, manager);
        };
        DiffusionTrainer trainer = new DiffusionTrainer(setup, method);
        if (resume != null) {
            trainer.restore(resume, manager);
        }
        String outputDirArg = job.stringArgument("output_dir");
        Path outputDir = root.resolve(outputDirArg != null ? outputDirArg : "outputs/" + job.name());
        List<SamplePrompt> prompts = samplePrompts(job, root);
        RunOutputs outputs = new LoraRunOutputs(job, plan, settings, model, tokenizer, prompts, outputDir,
                listener, manager, sampleRequests);
        return new Prepared(job, plan, outputDir, trainer, outputs, start);
    }

    /** Prepares and trains. */
    public static DiffusionTrainer.Result run(Options options, TrainingListener listener, TrainingControl control) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Prepared p = prepare(options, manager, listener);
            return p.trainer().train(p.start(), p.outputs(), listener, control, manager);
        }
    }

    /** How the job's base model is loaded: {@code v2} / {@code v_parameterization} when the job sets them, else inferred. */
    public static LoadOptions loadOptions(JobSpec job) {
        LoadOptions load = LoadOptions.defaults();
        if (job.givenArguments().contains("v2")) {
            load = load.withV2(job.flag("v2"));
        }
        if (job.givenArguments().contains("v_parameterization")) {
            load = load.withVParameterization(job.flag("v_parameterization"));
        }
        return load;
    }

    /** The job id of a job file: its folder's name for {@code .../<job>/job.toml}, else the file name's stem. */
    public static String jobName(Path jobFile) {
        String file = jobFile.getFileName().toString();
        Path parent = jobFile.toAbsolutePath().getParent();
        if (file.equals("job.toml") && parent != null && parent.getFileName() != null) {
            return parent.getFileName().toString();
        }
        int dot = file.lastIndexOf('.');
        return dot > 0 ? file.substring(0, dot) : file;
    }

    private static List<SamplePrompt> samplePrompts(JobSpec job, Path root) {
        List<SamplePrompt> prompts = new ArrayList<>();
        if (job.samplePromptsKey() != null) {
            prompts.addAll(SamplePrompts.read(root.resolve(job.samplePromptsKey())));
        }
        for (String line : job.samplePrompts()) {
            prompts.add(SamplePrompts.parseLine(line));
        }
        return prompts;
    }
}
