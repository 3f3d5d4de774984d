package dev.kiln.diffusion.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.safetensors.DType;
import dev.kiln.diffusion.safetensors.SafeTensors;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model written in the original single-file layout (and as a diffusers folder) loads back to the same tensors,
 * for the SD 1.5 (CLIP) and SD 2 (OpenCLIP, fused q/k/v) tiny models.
 */
class CheckpointWriterTest {

    @TempDir
    Path dir;

    @Test
    void sd15RoundTripsThroughTheOriginalLayoutAndDiffusers() {
        roundTrip(GoldenData.root().resolve("tiny-sd15/diffusers"), false);
    }

    @Test
    void savePrecisionIsTheDtypeOfEveryTensor() {
        try (NDManager manager = NDManager.newBaseManager()) {
            StableDiffusionModel model = StableDiffusionLoader.load(GoldenData.root().resolve("tiny-sd15/diffusers"),
                    manager);
            Path file = CheckpointWriter.write(model, dir.resolve("half.safetensors"), DType.F16, Map.of());
            try (SafeTensors st = SafeTensors.open(file)) {
                for (String name : st.names()) {
                    assertEquals(DType.F16, st.info(name).dtype(), name);
                }
            }
        }
    }

    @Test
    void sd2RoundTripsWithFusedOpenClipAttention() {
        roundTrip(GoldenData.root().resolve("tiny-sd2-vpred/diffusers"), true);
    }

    private void roundTrip(Path folder, boolean v2) {
        try (NDManager manager = NDManager.newBaseManager()) {
            StableDiffusionModel model = StableDiffusionLoader.load(folder, manager);
            assertEquals(v2, model.v2());
            Path file = CheckpointWriter.write(model, dir.resolve("model.safetensors"), DType.F32,
                    Map.of("modelspec.title", "x"));
            try (SafeTensors st = SafeTensors.open(file)) {
                assertEquals("x", st.metadata().get("modelspec.title"));
                if (v2) {
                    assertTrue(st.names().contains("cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight"));
                    assertTrue(st.names().contains("cond_stage_model.model.text_projection"));
                } else {
                    assertTrue(st.names().contains("cond_stage_model.transformer.text_model.final_layer_norm.weight"));
                }
                assertTrue(st.names().contains("model.diffusion_model.middle_block.1.proj_in.weight"));
            }
            // the tiny models' head counts are not SD's defaults: their config folder says them (--model-config)
            StableDiffusionModel back = StableDiffusionLoader.load(file, manager,
                    LoadOptions.defaults().withConfigFolder(folder).withVParameterization(model.vParameterization()));
            assertSame(model, back);
            StableDiffusionModel fromFolder = StableDiffusionLoader.load(
                    DiffusersWriter.write(model, dir.resolve("diffusers"), DType.F32, null), manager);
            assertSame(model, fromFolder);
            assertEquals(model.vParameterization(), fromFolder.vParameterization());
        }
    }

    private static void assertSame(StableDiffusionModel expected, StableDiffusionModel actual) {
        same(expected.unetWeights(), actual.unetWeights());
        same(expected.textEncoderWeights(), actual.textEncoderWeights());
        same(expected.vaeWeights(), actual.vaeWeights());
    }

    private static void same(Map<String, NDArray> expected, Map<String, NDArray> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((k, v) -> {
            assertEquals(v.getShape(), actual.get(k).getShape(), k);
            assertArrayEquals(v.toFloatArray(), actual.get(k).toFloatArray(), 0f, k);
        });
    }
}
