package dev.kiln.diffusion.train.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.nn.GoldenTensors;
import dev.kiln.diffusion.nn.GoldenTensors.Captured;
import dev.kiln.diffusion.safetensors.SafeTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The optimisation part of the golden kohya training step: clip_grad_norm_ over the reference gradients, then one
 * AdamW step from the LoRA file's weights, against {@code after_adamw.*}.
 */
class GoldenTrainStepTest {

    static final String FILE = "train_step.safetensors";

    static List<Path> configs() {
        return GoldenData.configFolders().stream()
                .filter(c -> Files.isRegularFile(c.resolve("golden").resolve(FILE))).toList();
    }

    @ParameterizedTest
    @MethodSource("configs")
    void clipThenAdamWMatchesTorch(Path config) throws Exception {
        JsonNode manifest = GoldenData.manifest(config);
        JsonNode train = manifest.path("parameters").path("train");
        Path loraFile;
        try (var files = Files.list(config.resolve("lora"))) {
            loraFile = files.filter(p -> p.toString().endsWith(".safetensors")).findFirst().orElseThrow();
        }
        try (NDManager manager = NDManager.newBaseManager();
             GoldenTensors golden = new GoldenTensors(config, FILE);
             SafeTensors lora = SafeTensors.open(loraFile)) {
            Map<String, NDArray> grads = new LinkedHashMap<>();
            for (JsonNode name : manifest.path("grad_norm_names")) {
                grads.put(name.asText(), golden.load("grad." + name.asText(), manager));
            }
            List<String> withoutGrad = new ArrayList<>();
            manifest.path("params_without_grad").forEach(n -> withoutGrad.add(n.asText()));

            double total = GradientClipping.clipGlobalNorm(grads.values(), train.path("max_grad_norm").asDouble());
            assertNull(golden.check("total_grad_norm", new Captured(new long[] {1}, new float[] {(float) total})));

            Map<String, NDArray> params = new LinkedHashMap<>();
            for (JsonNode name : manifest.path("adamw_selected")) {
                params.put(name.asText(), lora.load(name.asText(), manager));
            }
            for (String name : withoutGrad) {
                params.put(name, lora.load(name, manager));
            }
            JsonNode betas = train.path("betas");
            Optimizer adamw = Optimizers.create("AdamW", List.of(
                    "betas=" + betas.get(0).asDouble() + "," + betas.get(1).asDouble(),
                    "eps=" + train.path("eps").asDouble(), "weight_decay=" + train.path("weight_decay").asDouble()));
            adamw.step(List.of(new ParamGroup("lora", train.path("lr").asDouble(), params)), grads);
            int checked = 0;
            for (JsonNode name : manifest.path("adamw_selected")) {
                String key = "after_adamw." + name.asText();
                assertNull(golden.check(key, Captured.of(params.get(name.asText()))), key);
                checked++;
            }
            for (String name : withoutGrad) {
                float[] before = lora.readFloats(name);
                float[] after = params.get(name).toFloatArray();
                for (int i = 0; i < before.length; i++) {
                    assertEquals(before[i], after[i], name + " has no gradient and must not move");
                }
            }
            assertTrue(checked > 0);
            adamw.close();
        }
    }
}
