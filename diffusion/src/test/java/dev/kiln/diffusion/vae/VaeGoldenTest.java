package dev.kiln.diffusion.vae;

import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.nn.GoldenTensors;
import dev.kiln.diffusion.nn.GoldenTensors.Captured;
import dev.kiln.diffusion.safetensors.SafeTensors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The VAE built straight from each golden config's diffusers {@code vae/} folder reproduces diffusers. */
class VaeGoldenTest {

    static List<Path> configs() {
        return GoldenData.configFolders();
    }

    @ParameterizedTest
    @MethodSource("configs")
    void matchesEveryGoldenTensor(Path config) {
        try (NDManager manager = NDManager.newBaseManager();
             GoldenTensors golden = new GoldenTensors(config, VaeGoldenChecks.FILE)) {
            AutoencoderKL vae = load(config.resolve("diffusers/vae"), manager);
            List<String> expected = VaeGoldenChecks.compared(golden);
            assertTrue(expected.contains("decoded_from_mean") && expected.size() >= 10,
                    "golden lists the VAE outputs and hooks");
            Map<String, Captured> captured = VaeGoldenChecks.capture(vae, golden, manager);
            List<String> failures = golden.checkAll(captured, expected);
            assertEquals(List.of(), failures, String.join("\n", failures));
        }
    }

    static AutoencoderKL load(Path folder, NDManager manager) {
        VaeConfig config = VaeConfig.read(folder.resolve("config.json"));
        try (SafeTensors st = SafeTensors.open(folder.resolve("diffusion_pytorch_model.safetensors"))) {
            return new AutoencoderKL(config, st.loadAll(manager));
        }
    }
}
