package dev.kiln.diffusion.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.model.StableDiffusionLoader;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.nn.GoldenTensors;
import dev.kiln.diffusion.nn.GoldenTensors.Captured;
import dev.kiln.diffusion.scheduler.NoiseSchedule;
import dev.kiln.diffusion.scheduler.SchedulerConfig;
import dev.kiln.diffusion.train.LossOptions;
import dev.kiln.diffusion.train.TrainingLoss;
import dev.kiln.diffusion.train.optim.GradientClipping;
import dev.kiln.diffusion.train.optim.Optimizer;
import dev.kiln.diffusion.train.optim.Optimizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Gradients through the LoRA hooks: the golden kohya training step's forward (text encoder and UNet with the LoRA,
 * MSE against the target) differentiated by DJL gives sd-scripts' loss and every {@code grad.<lora key>}.
 */
class LoraGradientGoldenTest {

    static final String FILE = "train_step.safetensors";

    static List<Path> configs() {
        return GoldenData.configFolders().stream()
                .filter(c -> Files.isRegularFile(c.resolve("golden").resolve(FILE))).toList();
    }

    @ParameterizedTest
    @MethodSource("configs")
    void hookedForwardGivesKohyasLoraGradients(Path config) {
        JsonNode manifest = GoldenData.manifest(config);
        int clipSkip = manifest.path("parameters").path("clip_skip").asInt(1);
        try (NDManager manager = NDManager.newBaseManager();
             GoldenTensors golden = new GoldenTensors(config, FILE)) {
            StableDiffusionModel model = StableDiffusionLoader.load(config.resolve("diffusers"), manager);
            LoraNetwork lora = LoraNetwork.load(LoraGoldenChecks.loraFile(config), manager);
            lora.attachGradients();
            NDArray ids = golden.load("input_ids", manager);
            NDArray noisy = golden.load("noisy_latents", manager);
            NDArray timesteps = golden.load("timesteps", manager);
            NDArray target = golden.load("target", manager);

            List<String> failures = new ArrayList<>();
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray context = model.textEncoder().withLayerHook(lora.hook(ModelPart.TEXT_ENCODER, 1f))
                        .encode(ids, clipSkip);
                NDArray pred = model.unet().withLayerHook(lora.hook(ModelPart.UNET, 1f))
                        .forward(noisy, timesteps, context);
                // the engine's loss (sd-scripts' l2, per-sample mean, weight 1, no SNR weighting) on the golden target
                NoiseSchedule schedule = NoiseSchedule.of(SchedulerConfig.kohya(false));
                long[] t = timesteps.toType(ai.djl.ndarray.types.DataType.INT64, false).toLongArray();
                float[] weights = new float[t.length];
                java.util.Arrays.fill(weights, 1f);
                NDArray loss = new TrainingLoss(LossOptions.DEFAULT, schedule.snr(), schedule.alphasCumprod())
                        .loss(pred, target, t, weights);
                addFailure(failures, golden.check("encoder_hidden_states", Captured.of(context)));
                addFailure(failures, golden.check("model_pred", Captured.of(pred)));
                addFailure(failures, golden.check("loss", new Captured(new long[] {1}, loss.toFloatArray())));
                collector.backward(loss);
            }
            Map<String, NDArray> params = new LinkedHashMap<>(lora.parameters(ModelPart.TEXT_ENCODER));
            params.putAll(lora.parameters(ModelPart.UNET));
            List<NDArray> grads = new ArrayList<>();
            int checked = 0;
            for (JsonNode name : manifest.path("grad_norm_names")) {
                NDArray grad = params.get(name.asText()).getGradient();
                grads.add(grad);
                addFailure(failures, golden.check("grad." + name.asText(), Captured.of(grad)));
                checked++;
            }
            JsonNode train = manifest.path("parameters").path("train");
            double total = GradientClipping.clipGlobalNorm(grads, train.path("max_grad_norm").asDouble());
            addFailure(failures, golden.check("total_grad_norm", new Captured(new long[] {1}, new float[] {(float) total})));

            // the step itself, on the live (gradient-carrying) LoRA tensors
            Map<String, NDArray> withGrad = new LinkedHashMap<>();
            manifest.path("grad_norm_names").forEach(n -> withGrad.put(n.asText(), params.get(n.asText()).getGradient()));
            try (Optimizer adamw = Optimizers.create("AdamW", List.of("weight_decay=" + train.path("weight_decay").asDouble(),
                    "eps=" + train.path("eps").asDouble()))) {
                adamw.step(lora.parameterGroups(null, null, train.path("lr").asDouble()), withGrad);
            }
            for (JsonNode name : manifest.path("adamw_selected")) {
                addFailure(failures, golden.check("after_adamw." + name.asText(),
                        Captured.of(params.get(name.asText()))));
            }
            assertEquals(List.of(), failures, String.join("\n", failures));
            assertEquals(params.size() - manifest.path("params_without_grad").size(), checked);
            assertTrue(checked > 0);
        }
    }

    private static void addFailure(List<String> failures, String failure) {
        if (failure != null) {
            failures.add(failure);
        }
    }
}
