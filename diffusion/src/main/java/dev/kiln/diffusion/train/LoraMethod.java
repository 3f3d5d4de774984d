package dev.kiln.diffusion.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.lora.LoraNetwork;
import dev.kiln.diffusion.lora.LoraTarget;
import dev.kiln.diffusion.lora.LoraTargets;
import dev.kiln.diffusion.lora.ModelPart;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.nn.LayerHook;
import dev.kiln.diffusion.sampling.ImageGenerator;
import dev.kiln.diffusion.textencoder.ClipTextModel;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import dev.kiln.diffusion.train.optim.ParamGroup;
import dev.kiln.diffusion.train.save.LoraFiles;
import dev.kiln.diffusion.train.save.LoraMetadata;
import dev.kiln.diffusion.unet.UNet2DConditionModel;
import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.job.JobSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code train_network.py} with {@code networks.lora}: a kohya LoRA network hooked into the frozen text encoder and
 * UNet; saved as sd-scripts' LoRA safetensors with its ss_* and modelspec metadata.
 */
public final class LoraMethod implements TrainingMethod {

    private static final Pattern TE_LAYER = Pattern.compile("^lora_te_text_model_encoder_layers_(\\d+)_");

    private final DiffusionTrainer.Setup setup;
    private final JobSpec job;
    private final LoraNetwork network;
    private final Map<String, NDArray> withGradients;
    private final List<ParamGroup> groups;
    private final int unusedTextEncoderLayersFrom;
    private final Path baseModelFile;
    private final TrainingState start;
    private String optimizerDescription = "";
    private LoraMetadata.Run metadata;

    /**
     * Builds the network (new, or continued from {@code network_weights}).
     *
     * @param baseModelFile the base model's file or folder (for ss_sd_model_name and hashes), or null
     * @param start         the run's identity (session id, start time), kept across resumes
     * @param manager       owns the network for the life of the run
     */
    public LoraMethod(DiffusionTrainer.Setup setup, JobSpec job, Path baseModelFile, TrainingState start,
                      NDManager manager) {
        DiffusionTrainer.checkModel(setup);
        this.setup = setup;
        this.job = job;
        this.baseModelFile = baseModelFile;
        this.start = start;
        TrainingSettings settings = setup.settings();
        StableDiffusionModel model = setup.model();
        List<LoraTarget> targets = new ArrayList<>();
        if (settings.network().trainTextEncoder()) {
            targets.addAll(LoraTargets.textEncoder(LoraTargets.shapes(model.textEncoderWeights()), settings.network()));
        }
        if (settings.network().trainUnet()) {
            targets.addAll(LoraTargets.unet(LoraTargets.shapes(model.unetWeights()), settings.network()));
        }
        this.network = LoraNetwork.create(targets, manager, StepRandom.INIT.seedAt(settings.seed(), 0, 0));
        if (settings.networkWeights() != null) {
            network.loadWeights(Path.of(settings.networkWeights()));
        }
        network.attachGradients();
        this.unusedTextEncoderLayersFrom = DiffusionTrainer.unusedTextEncoderLayersFrom(setup);
        this.withGradients = new LinkedHashMap<>();
        for (ModelPart part : ModelPart.values()) {
            network.parameters(part).forEach((name, p) -> {
                if (!isUnusedTextEncoderParam(name)) {
                    withGradients.put(name, p);
                }
            });
        }
        List<ParamGroup> used = new ArrayList<>();
        for (ParamGroup g : network.parameterGroups(settings.textEncoderLr(), settings.unetLr(), settings.learningRate())) {
            Map<String, NDArray> params = new LinkedHashMap<>(g.params());
            params.keySet().removeIf(this::isUnusedTextEncoderParam);
            used.add(new ParamGroup(g.name(), g.lr(), params));
        }
        this.groups = List.copyOf(used);
    }

    private boolean isUnusedTextEncoderParam(String name) {
        Matcher m = TE_LAYER.matcher(name);
        return m.find() && Integer.parseInt(m.group(1)) >= unusedTextEncoderLayersFrom;
    }

    public LoraNetwork network() {
        return network;
    }

    @Override
    public List<ParamGroup> parameterGroups(long step) {
        return groups;
    }

    @Override
    public Map<String, NDArray> gradientTensors(long step) {
        return withGradients;
    }

    @Override
    public Map<String, NDArray> stateTensors() {
        Map<String, NDArray> all = new LinkedHashMap<>();
        for (ModelPart part : ModelPart.values()) {
            all.putAll(network.parameters(part));
        }
        return all;
    }

    @Override
    public void restoreState(Map<String, NDArray> saved, Path dir) {
        TrainingState.copyInto(stateTensors(), saved, dir, "network_dim, conv_dim or the model differ");
    }

    @Override
    public ClipTextModel textEncoder(long step, Random moduleDropout) {
        return setup.model().textEncoder().withLayerHook(hook(ModelPart.TEXT_ENCODER, moduleDropout));
    }

    @Override
    public UNet2DConditionModel unet(Random moduleDropout) {
        return setup.model().unet().withLayerHook(hook(ModelPart.UNET, moduleDropout));
    }

    private LayerHook hook(ModelPart part, Random moduleDropout) {
        return network.modules(part).isEmpty() ? LayerHook.NONE
                : network.trainingHook(part, 1f, setup.settings().network().dropout(), moduleDropout);
    }

    @Override
    public ClipTokenizer tokenizer() {
        return setup.tokenizer();
    }

    @Override
    public void afterOptimizerStep() {
        if (setup.settings().scaleWeightNorms() != null) {
            network.applyMaxNorm(setup.settings().scaleWeightNorms());
        }
    }

    @Override
    public void optimizerDescription(String description) {
        this.optimizerDescription = description;
    }

    @Override
    public String fileExtension() {
        return "safetensors";
    }

    @Override
    public void save(Path file, SaveKind kind, long step, long epoch, double savedAt) {
        if (metadata == null) {
            // hashes the base model files: once per run, at the first save
            DatasetPlan plan = setup.plan();
            metadata = new LoraMetadata.Run(job, plan, start.sessionId(), start.trainingStartedAt(),
                    setup.settings().seed(), baseModelFile, null, optimizerDescription);
        }
        Map<String, String> values = switch (kind) {
            case STEP -> LoraMetadata.forStepSave(metadata, step, epoch, savedAt);
            case EPOCH -> LoraMetadata.forEpochSave(metadata, step, epoch, savedAt);
            case FINAL -> LoraMetadata.forFinalSave(metadata, step, savedAt);
        };
        LoraFiles.save(network, file, values, setup.settings().savePrecision(), LoraFiles.int64Alpha(job));
    }

    @Override
    public ImageGenerator sampler(int clipSkip, NDManager manager) {
        return new ImageGenerator(setup.model(), setup.tokenizer(),
                List.of(new ImageGenerator.AppliedLora("training", network, 1f)), clipSkip);
    }
}
