package dev.kiln.diffusion.textencoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.diffusion.golden.GoldenConfig;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.golden.GoldenResults;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The text encoder golden checks on their own, per config (the conformance test runs them too). */
class TextEncoderGoldenTest {

    static List<Path> configs() {
        return GoldenData.configFolders();
    }

    @ParameterizedTest
    @MethodSource("configs")
    void matchesEveryGoldenTensorThroughBothLoadingPaths(Path folder) {
        GoldenResults results = new GoldenResults();
        try (GoldenConfig config = new GoldenConfig(folder)) {
            new TextEncoderGoldenChecks().check(config, results);
        }
        assertEquals(List.of(), results.failed(), String.join("\n", results.failed()));
        // 10 compared tensors x 2 loading paths
        assertTrue(results.checked() >= 20, "checked " + results.checked());
    }
}
