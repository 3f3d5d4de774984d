package dev.kiln.diffusion.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.model.CheckpointWriter;
import dev.kiln.diffusion.model.DiffusersWriter;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.sampling.ImageGenerator;
import dev.kiln.diffusion.textencoder.ClipTextModel;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import dev.kiln.diffusion.train.optim.ParamGroup;
import dev.kiln.diffusion.train.save.ModelSpec;
import dev.kiln.diffusion.unet.UNet2DConditionModel;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.job.Method;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Full fine-tuning of the model's own weights: {@code train_db.py} (DreamBooth: the UNet, and the text encoder until
 * {@code stop_text_encoder_training}; prior preservation through regularization images and {@code prior_loss_weight},
 * which the shared loss applies) and {@code fine_tune.py} (captions from the {@code in_json} metadata, the text encoder
 * with {@code train_text_encoder}). {@code learning_rate} for the UNet, {@code learning_rate_te} for the text encoder
 * (one group at {@code learning_rate} when unset, as sd-scripts). Saves a single-file checkpoint in the original SD
 * layout (default) or a diffusers folder ({@code save_model_as = "diffusers"}), in {@code save_precision}, with the
 * modelspec metadata sd-scripts writes.
 */
public final class FullModelMethod implements TrainingMethod {

    private static final Pattern TE_LAYER = Pattern.compile("^text_model\\.encoder\\.layers\\.(\\d+)\\.");
    private static final String UNET = "unet.";
    private static final String TEXT_ENCODER = "text_encoder.";

    private final DiffusionTrainer.Setup setup;
    private final JobSpec job;
    private final StableDiffusionModel model;
    private final Map<String, NDArray> unet;
    private final Map<String, NDArray> textEncoder;
    private final boolean trainTextEncoder;
    private final long stopTextEncoderAt;
    private final Double textEncoderLr;
    private final boolean diffusers;
    private final Path baseModelFile;
    private boolean textEncoderGradients;

    private FullModelMethod(DiffusionTrainer.Setup setup, JobSpec job, StableDiffusionModel model,
                            boolean trainTextEncoder, long stopTextEncoderAt, Double textEncoderLr, boolean diffusers,
                            Path baseModelFile) {
        this.setup = setup;
        this.job = job;
        this.model = model;
        this.trainTextEncoder = trainTextEncoder;
        this.stopTextEncoderAt = stopTextEncoderAt;
        this.textEncoderLr = textEncoderLr;
        this.diffusers = diffusers;
        this.baseModelFile = baseModelFile;
        this.unet = new LinkedHashMap<>();
        model.unetWeights().forEach((k, v) -> unet.put(UNET + k, v));
        this.textEncoder = new LinkedHashMap<>();
        if (trainTextEncoder) {
            int unusedFrom = DiffusionTrainer.unusedTextEncoderLayersFrom(setup);
            model.textEncoderWeights().forEach((k, v) -> {
                Matcher m = TE_LAYER.matcher(k);
                // with clip_skip k the last k-1 layers get no gradient: torch's optimizer skips them, so does Kiln
                if (!(m.find() && Integer.parseInt(m.group(1)) >= unusedFrom)) {
                    textEncoder.put(TEXT_ENCODER + k, v);
                }
            });
        }
        unet.values().forEach(p -> p.setRequiresGradient(true));
    }

    /**
     * The method of a dreambooth or finetune job.
     *
     * @param baseModelFile the base model's file or folder (its tokenizer is copied into diffusers saves), or null
     * @param ownsModel     true when the run loaded the model itself: the trained parts are then converted in place
     *                      (the loaded arrays are freed); false (a model shared with others) trains copies
     */
    public static FullModelMethod create(DiffusionTrainer.Setup setup, JobSpec job, Path baseModelFile,
                                         boolean ownsModel, NDManager manager) {
        DiffusionTrainer.checkModel(setup);
        refuseGradientCheckpointing(job);
        boolean dreambooth = job.method() == Method.DREAMBOOTH;
        boolean trainTextEncoder;
        long stopAt = Long.MAX_VALUE;
        if (dreambooth) {
            Long stop = (Long) job.argument("stop_text_encoder_training");
            // train_db.py: a negative value means the text encoder is never trained
            trainTextEncoder = stop == null || stop >= 0;
            if (stop != null && stop >= 0) {
                stopAt = stop;
            }
            if (job.flag("no_token_padding")) {
                throw new IllegalArgumentException("no_token_padding: Kiln always pads captions to 77 tokens");
            }
        } else {
            trainTextEncoder = job.flag("train_text_encoder");
        }
        String saveAs = job.stringArgument("save_model_as");
        if (saveAs != null && !saveAs.equals("safetensors") && !saveAs.startsWith("diffusers")) {
            throw new IllegalArgumentException("save_model_as = \"" + saveAs + "\": Kiln writes \"safetensors\" single"
                    + " files or \"diffusers\" folders (pickled .ckpt files can run code)");
        }
        StableDiffusionModel base = setup.model();
        Map<String, NDArray> unet = trainable(base.unetWeights(), ownsModel, manager);
        Map<String, NDArray> te = trainTextEncoder ? trainable(base.textEncoderWeights(), ownsModel, manager)
                : base.textEncoderWeights();
        StableDiffusionModel trained = new StableDiffusionModel(base.v2(), base.vParameterization(), base.tokenizer(),
                base.textEncoderConfigJson(), te, base.unetConfigJson(), unet, base.vaeConfigJson(),
                base.vaeWeights(), base.schedulerConfig());
        return new FullModelMethod(setup, job, trained, trainTextEncoder, stopAt,
                (Double) job.argument("learning_rate_te"), saveAs != null && saveAs.startsWith("diffusers"),
                baseModelFile);
    }

    /**
     * Tensors that can be trained: libtorch-owned (a loaded array may point into a Java buffer, which must not back
     * a parameter). With {@code inPlace} the loaded map itself is updated and its old arrays freed, else copies.
     */
    private static Map<String, NDArray> trainable(Map<String, NDArray> weights, boolean inPlace, NDManager manager) {
        Map<String, NDArray> out = inPlace ? weights : new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : new ArrayList<>(weights.entrySet())) {
            NDArray copy = e.getValue().duplicate();
            copy.attach(manager);
            if (inPlace) {
                e.getValue().close();
            }
            out.put(e.getKey(), copy);
        }
        return out;
    }

    /** DJL has no activation checkpointing: refuse rather than silently use the memory it would save. */
    static void refuseGradientCheckpointing(JobSpec job) {
        if (job.flag("gradient_checkpointing")) {
            throw new IllegalArgumentException("gradient_checkpointing: DJL has no activation checkpointing; Kiln keeps"
                    + " every activation (see docs/architecture.md, training memory, for what to do instead)");
        }
    }

    /** The model being trained (its UNet and text encoder maps hold the live weights). */
    public StableDiffusionModel model() {
        return model;
    }

    private boolean textEncoderActive(long step) {
        return trainTextEncoder && step < stopTextEncoderAt;
    }

    @Override
    public List<ParamGroup> parameterGroups(long step) {
        double lr = setup.settings().learningRate();
        if (!textEncoderActive(step)) {
            return List.of(new ParamGroup("unet", lr, unet));
        }
        if (textEncoderLr == null) {
            return List.of(new ParamGroup("unet", lr, gradientTensors(step)));
        }
        return List.of(new ParamGroup("unet", lr, unet), new ParamGroup("textencoder", textEncoderLr, textEncoder));
    }

    @Override
    public Map<String, NDArray> gradientTensors(long step) {
        if (!textEncoderActive(step)) {
            return unet;
        }
        Map<String, NDArray> all = new LinkedHashMap<>(unet);
        all.putAll(textEncoder);
        return all;
    }

    @Override
    public Map<String, NDArray> stateTensors() {
        Map<String, NDArray> all = new LinkedHashMap<>(unet);
        all.putAll(textEncoder);
        return all;
    }

    @Override
    public void restoreState(Map<String, NDArray> saved, Path dir) {
        TrainingState.copyInto(stateTensors(), saved, dir,
                "the base model, clip_skip, train_text_encoder or stop_text_encoder_training differ");
    }

    @Override
    public ClipTextModel textEncoder(long step, Random moduleDropout) {
        boolean active = textEncoderActive(step);
        if (active != textEncoderGradients) {
            // train_db.py's requires_grad_(False) at stop_text_encoder_training: no graph through the encoder after it
            textEncoder.values().forEach(p -> p.setRequiresGradient(active));
            textEncoderGradients = active;
        }
        return model.textEncoder();
    }

    @Override
    public UNet2DConditionModel unet(Random moduleDropout) {
        return model.unet();
    }

    @Override
    public ClipTokenizer tokenizer() {
        return setup.tokenizer();
    }

    @Override
    public String fileExtension() {
        return diffusers ? null : "safetensors";
    }

    @Override
    public void save(Path file, SaveKind kind, long step, long epoch, double savedAt) {
        if (diffusers) {
            Path tokenizer = baseModelFile != null && Files.isDirectory(baseModelFile)
                    ? baseModelFile.resolve("tokenizer") : null;
            DiffusersWriter.write(model, file, setup.settings().savePrecision().dtype(), tokenizer);
        } else {
            CheckpointWriter.write(model, file, setup.settings().savePrecision().dtype(),
                    ModelSpec.forCheckpoint(job, savedAt, ZoneId.systemDefault()));
        }
    }

    @Override
    public ImageGenerator sampler(int clipSkip, NDManager manager) {
        return new ImageGenerator(model, setup.tokenizer(), List.of(), clipSkip);
    }
}
