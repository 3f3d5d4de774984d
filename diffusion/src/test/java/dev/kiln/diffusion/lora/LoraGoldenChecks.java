package dev.kiln.diffusion.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.golden.GoldenCheckGroup;
import dev.kiln.diffusion.golden.GoldenConfig;
import dev.kiln.diffusion.golden.GoldenResults;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.nn.GoldenTensors;
import dev.kiln.diffusion.nn.GoldenTensors.Captured;
import dev.kiln.diffusion.textencoder.ClipTextModel;
import dev.kiln.diffusion.unet.UNet2DConditionModel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Golden checks of the config's kohya LoRA file through both model loading paths: UNet and text-encoder outputs with
 * the LoRA hooked in at multiplier 1.0 and 0.5, the UNet output after merging, and the merged weights.
 */
public class LoraGoldenChecks implements GoldenCheckGroup {

    static final String FILE = "lora.safetensors";

    @Override
    public String name() {
        return "lora";
    }

    @Override
    public void check(GoldenConfig config, GoldenResults results) {
        if (!config.hasGolden(FILE)) {
            return;
        }
        int clipSkip = config.parameters().path("clip_skip").asInt(1);
        try (GoldenTensors golden = config.golden(FILE);
             GoldenTensors unetInputs = config.golden("unet.safetensors");
             GoldenTensors teInputs = config.golden("text_encoder.safetensors")) {
            for (Map.Entry<String, StableDiffusionModel> path : config.models().entrySet()) {
                try (NDManager manager = config.manager().newSubManager()) {
                    LoraNetwork lora = LoraNetwork.load(loraFile(config.folder()), manager);
                    Map<String, Captured> captured = capture(path.getValue(), lora, unetInputs, teInputs, clipSkip,
                            manager);
                    for (String name : golden.names()) {
                        results.check(FILE, name, path.getKey(), golden.check(name, captured.get(name)));
                    }
                }
            }
        }
    }

    /** The config's {@code lora/*.safetensors} file. */
    static Path loraFile(Path configFolder) {
        try (Stream<Path> files = Files.list(configFolder.resolve("lora"))) {
            return files.filter(p -> p.toString().endsWith(".safetensors")).findFirst()
                    .orElseThrow(() -> new IllegalStateException(configFolder + "/lora has no .safetensors file"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Map<String, Captured> capture(StableDiffusionModel model, LoraNetwork lora, GoldenTensors unetInputs,
                                         GoldenTensors teInputs, int clipSkip, NDManager manager) {
        Map<String, Captured> captured = GoldenTensors.newCapture();
        UNet2DConditionModel unet = model.unet();
        ClipTextModel te = model.textEncoder();
        lora.checkFits(ModelPart.UNET, LoraTargets.shapes(unet.weights()));
        lora.checkFits(ModelPart.TEXT_ENCODER, LoraTargets.shapes(te.weights()));
        NDArray sample = unetInputs.load("sample", manager);
        NDArray timesteps = unetInputs.load("timesteps", manager);
        NDArray context = unetInputs.load("encoder_hidden_states", manager);
        NDArray ids = teInputs.load("input_ids", manager);

        for (Map.Entry<String, Float> m : Map.of("m1", 1f, "m0p5", 0.5f).entrySet()) {
            UNet2DConditionModel hookedUnet = unet.withLayerHook(lora.hook(ModelPart.UNET, m.getValue()));
            captured.put("unet_out." + m.getKey(), Captured.of(hookedUnet.forward(sample, timesteps, context)));
            ClipTextModel hookedTe = te.withLayerHook(lora.hook(ModelPart.TEXT_ENCODER, m.getValue()));
            captured.put("te_last_hidden_state." + m.getKey(), Captured.of(hookedTe.forward(ids).lastHiddenState()));
            captured.put("te_conditioning." + m.getKey(), Captured.of(hookedTe.encode(ids, clipSkip)));
        }

        Map<String, NDArray> mergedUnet = lora.merge(ModelPart.UNET, unet.weights(), 1f);
        Map<String, NDArray> mergedTe = lora.merge(ModelPart.TEXT_ENCODER, te.weights(), 1f);
        try {
            captured.put("unet_out_merged.m1", Captured.of(
                    new UNet2DConditionModel(unet.config(), mergedUnet).forward(sample, timesteps, context)));
            mergedUnet.forEach((k, v) -> captured.put("merged.unet." + k, Captured.of(v)));
            mergedTe.forEach((k, v) -> captured.put("merged.text_encoder." + k, Captured.of(v)));
        } finally {
            closeNew(mergedUnet, unet.weights());
            closeNew(mergedTe, te.weights());
        }
        return captured;
    }

    /** Closes the merged arrays (those not shared with the model's own weight map). */
    private static void closeNew(Map<String, NDArray> merged, Map<String, NDArray> original) {
        merged.forEach((k, v) -> {
            if (original.get(k) != v) {
                v.close();
            }
        });
    }
}
