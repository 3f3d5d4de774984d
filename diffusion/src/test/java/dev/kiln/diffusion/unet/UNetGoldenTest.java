package dev.kiln.diffusion.unet;

import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.nn.GoldenTensors;
import dev.kiln.diffusion.nn.GoldenTensors.Captured;
import dev.kiln.diffusion.safetensors.SafeTensors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The UNet built straight from each golden config's diffusers {@code unet/} folder (config.json + weights,
 * independent of the model loader) reproduces diffusers' output and hooks, chunked or not.
 */
class UNetGoldenTest {

    static List<Path> configs() {
        return GoldenData.configFolders();
    }

    @ParameterizedTest
    @MethodSource("configs")
    void matchesEveryGoldenTensor(Path config) {
        try (NDManager manager = NDManager.newBaseManager();
             GoldenTensors golden = new GoldenTensors(config, UNetGoldenChecks.FILE)) {
            Path folder = config.resolve("diffusers/unet");
            UNetConfig unetConfig = UNetConfig.read(folder.resolve("config.json"));
            UNet2DConditionModel unet;
            try (SafeTensors st = SafeTensors.open(folder.resolve("diffusion_pytorch_model.safetensors"))) {
                unet = new UNet2DConditionModel(unetConfig, st.loadAll(manager));
            }
            List<String> expected = UNetGoldenChecks.compared(golden);
            assertTrue(expected.contains("out") && expected.size() > 10, "golden lists the output and its hooks");
            List<String> failures = new ArrayList<>();
            for (Map.Entry<String, Long> chunking : UNetGoldenChecks.CHUNKINGS.entrySet()) {
                Map<String, Captured> captured = UNetGoldenChecks.capture(
                        unet.withAttentionChunkBytes(chunking.getValue()), golden, manager);
                golden.checkAll(captured, expected).forEach(f -> failures.add(chunking.getKey() + ": " + f));
            }
            assertEquals(List.of(), failures, String.join("\n", failures));
        }
    }
}
