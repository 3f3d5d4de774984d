package dev.kiln.diffusion.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.safetensors.DType;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.safetensors.SafeTensorsWriter;
import dev.kiln.diffusion.textencoder.ClipTextConfig;
import dev.kiln.diffusion.unet.UNetConfig;
import dev.kiln.diffusion.vae.VaeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class StableDiffusionLoaderTest {

    static List<Path> configs() {
        return GoldenData.configFolders();
    }

    static Path singleFile(Path config) {
        return config.resolve("original").resolve(config.getFileName() + "-single-file-fp16.safetensors");
    }

    @ParameterizedTest
    @MethodSource("configs")
    void bothLoadingPathsGiveIdenticalWeights(Path config) {
        try (NDManager manager = NDManager.newBaseManager()) {
            StableDiffusionModel folder = StableDiffusionLoader.load(config.resolve("diffusers"), manager);
            StableDiffusionModel single = StableDiffusionLoader.load(singleFile(config), manager);
            assertSameWeights("text encoder", folder.textEncoderWeights(), single.textEncoderWeights());
            assertSameWeights("unet", folder.unetWeights(), single.unetWeights());
            assertSameWeights("vae", folder.vaeWeights(), single.vaeWeights());
        }
    }

    @ParameterizedTest
    @MethodSource("configs")
    void derivedConfigsAgreeWithTheDiffusersConfigsOnEverythingShapesShow(Path config) {
        try (NDManager manager = NDManager.newBaseManager()) {
            StableDiffusionModel folder = StableDiffusionLoader.load(config.resolve("diffusers"), manager);
            StableDiffusionModel single = StableDiffusionLoader.load(singleFile(config), manager);

            ClipTextConfig a = folder.textEncoderConfig();
            ClipTextConfig b = single.textEncoderConfig();
            assertEquals(a.vocabSize(), b.vocabSize());
            assertEquals(a.hiddenSize(), b.hiddenSize());
            assertEquals(a.intermediateSize(), b.intermediateSize());
            assertEquals(a.numHiddenLayers(), b.numHiddenLayers());
            assertEquals(a.maxPositionEmbeddings(), b.maxPositionEmbeddings());
            assertEquals(a.hiddenAct(), b.hiddenAct());

            UNetConfig u = folder.unetConfig();
            UNetConfig v = single.unetConfig();
            assertArrayEquals(u.blockOutChannels(), v.blockOutChannels());
            assertArrayEquals(u.layersPerBlock(), v.layersPerBlock());
            assertEquals(u.downBlockTypes(), v.downBlockTypes());
            assertEquals(u.upBlockTypes(), v.upBlockTypes());
            assertArrayEquals(u.crossAttentionDim(), v.crossAttentionDim());
            assertEquals(u.useLinearProjection(), v.useLinearProjection());
            assertEquals(u.inChannels(), v.inChannels());
            assertEquals(u.outChannels(), v.outChannels());

            VaeConfig x = folder.vaeConfig();
            VaeConfig y = single.vaeConfig();
            assertArrayEquals(x.blockOutChannels(), y.blockOutChannels());
            assertEquals(x.layersPerBlock(), y.layersPerBlock());
            assertEquals(x.latentChannels(), y.latentChannels());
            assertEquals(x.inChannels(), y.inChannels());
            assertEquals(x.outChannels(), y.outChannels());
        }
    }

    @ParameterizedTest
    @MethodSource("configs")
    void v2AndPredictionTypeAreInferredAsTheManifestDescribes(Path config) {
        JsonNode parameters = GoldenData.manifest(config).path("parameters");
        boolean vPred = parameters.path("prediction_type").asText().equals("v_prediction");
        boolean v2 = config.getFileName().toString().contains("sd2");
        try (NDManager manager = NDManager.newBaseManager()) {
            for (StableDiffusionModel m : List.of(StableDiffusionLoader.load(config.resolve("diffusers"), manager),
                    StableDiffusionLoader.load(singleFile(config), manager))) {
                assertEquals(v2, m.v2(), "v2");
                assertEquals(vPred, m.vParameterization(), "v_parameterization");
                assertEquals(parameters.path("pad_token_id").asInt() == 0 ? 0 : 49407, m.tokenizer().padId());
            }
            StableDiffusionModel forced = StableDiffusionLoader.load(singleFile(config), manager,
                    LoadOptions.defaults().withV2(!v2).withVParameterization(!vPred));
            assertEquals(!v2, forced.v2());
            assertEquals(!vPred, forced.vParameterization());
            // with the diffusers configs the single file has exactly the folder's architecture
            StableDiffusionModel withConfigs = StableDiffusionLoader.load(singleFile(config), manager,
                    LoadOptions.defaults().withConfigFolder(config.resolve("diffusers")));
            assertEquals(GoldenData.readJson(config.resolve("diffusers/unet/config.json")), withConfigs.unetConfigJson());
            assertEquals(vPred, withConfigs.vParameterization());
        }
    }

    @Test
    void predictionTypeMetadataOverridesTheV2Default(@TempDir Path dir) throws IOException {
        Path config = GoldenData.config("tiny-sd2-vpred");
        Path copy = dir.resolve("epsilon.safetensors");
        try (SafeTensors st = SafeTensors.open(singleFile(config))) {
            SafeTensorsWriter writer = new SafeTensorsWriter().metadata("modelspec.prediction_type", "epsilon");
            for (String name : st.names()) {
                writer.addFloats(name, DType.F16, st.info(name).shape(), () -> st.readFloats(name));
            }
            writer.write(copy);
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            StableDiffusionModel m = StableDiffusionLoader.load(copy, manager);
            assertTrue(m.v2());
            assertFalse(m.vParameterization());
        }
    }

    @Test
    void badInputGivesClearErrors(@TempDir Path dir) throws IOException {
        try (NDManager manager = NDManager.newBaseManager()) {
            Path ckpt = Files.writeString(dir.resolve("model.ckpt"), "pickle");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> StableDiffusionLoader.load(ckpt, manager));
            assertTrue(e.getMessage().contains("model.ckpt"), e.getMessage());

            Path lora = GoldenData.config("tiny-sd15").resolve("lora/tiny-sd15-kohya-lora.safetensors");
            e = assertThrows(IllegalArgumentException.class, () -> StableDiffusionLoader.load(lora, manager));
            assertTrue(e.getMessage().contains("no text encoder"), e.getMessage());

            Path empty = Files.createDirectory(dir.resolve("empty"));
            e = assertThrows(IllegalArgumentException.class, () -> StableDiffusionLoader.load(empty, manager));
            assertTrue(e.getMessage().contains("text_encoder/config.json"), e.getMessage());
        }
    }

    private static void assertSameWeights(String what, Map<String, NDArray> expected, Map<String, NDArray> actual) {
        assertEquals(new TreeSet<>(expected.keySet()), new TreeSet<>(actual.keySet()), what + " tensor names");
        for (Map.Entry<String, NDArray> e : expected.entrySet()) {
            NDArray other = actual.get(e.getKey());
            assertEquals(e.getValue().getShape(), other.getShape(), what + " " + e.getKey());
            assertArrayEquals(e.getValue().toFloatArray(), other.toFloatArray(), what + " " + e.getKey());
        }
    }
}
