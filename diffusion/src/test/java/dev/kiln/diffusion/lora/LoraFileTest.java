package dev.kiln.diffusion.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.nn.GoldenTensors;
import dev.kiln.diffusion.nn.GoldenTensors.Captured;
import dev.kiln.diffusion.safetensors.DType;
import dev.kiln.diffusion.safetensors.Float16;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.safetensors.SafeTensorsWriter;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Reading, fitting, merging and writing the golden kohya LoRA files of every config. */
class LoraFileTest {

    @TempDir
    Path temp;

    static List<Path> configs() {
        return GoldenData.configFolders();
    }

    static Map<String, NDArray> weights(Path config, String model, NDManager manager) {
        String file = model.equals("unet") ? "diffusion_pytorch_model.safetensors" : "model.safetensors";
        try (SafeTensors st = SafeTensors.open(config.resolve("diffusers").resolve(model).resolve(file))) {
            return st.loadAll(manager);
        }
    }

    @ParameterizedTest
    @MethodSource("configs")
    void everyModuleMapsToALayerOfTheModelWithKohyaScale(Path config) {
        JsonNode entry = GoldenData.fileEntry(GoldenData.manifest(config),
                "lora/" + LoraGoldenChecks.loraFile(config).getFileName());
        JsonNode lora = GoldenData.manifest(config).path("parameters").path("lora");
        try (NDManager manager = NDManager.newBaseManager()) {
            LoraNetwork net = LoraNetwork.load(LoraGoldenChecks.loraFile(config), manager);
            List<LoraModule> te = net.modules(ModelPart.TEXT_ENCODER);
            List<LoraModule> unet = net.modules(ModelPart.UNET);
            assertEquals(entry.path("module_counts").path("text_encoder").asInt(), te.size());
            assertEquals(entry.path("module_counts").path("unet").asInt(), unet.size());
            assertEquals(te.size() + unet.size(), net.modules().size());
            assertEquals(entry.path("tensor_count").asInt(), 3 * net.modules().size());
            assertEquals("networks.lora", net.metadata().get("ss_network_module"));

            net.checkFits(ModelPart.UNET, LoraTargets.shapes(weights(config, "unet", manager)));
            net.checkFits(ModelPart.TEXT_ENCODER, LoraTargets.shapes(weights(config, "text_encoder", manager)));

            int conv3x3 = 0;
            for (LoraModule m : net.modules().values()) {
                boolean kxk = m.isConv() && m.down().getShape().get(2) > 1;
                conv3x3 += kxk ? 1 : 0;
                float alpha = (float) lora.path(kxk ? "conv_alpha" : "network_alpha").asDouble();
                int rank = lora.path(kxk ? "conv_dim" : "network_dim").asInt();
                assertEquals(rank, m.rank(), m.name());
                assertEquals(alpha, m.alpha(), m.name());
                assertEquals(alpha / rank, m.scale(), 1e-7, m.name());
            }
            assertEquals(entry.path("module_counts").path("unet_conv3x3").asInt(), conv3x3);
        }
    }

    @Test
    void aModuleWithoutItsLayerIsReportedByName() {
        Path config = GoldenData.config("tiny-sd15");
        try (NDManager manager = NDManager.newBaseManager()) {
            LoraNetwork net = LoraNetwork.load(LoraGoldenChecks.loraFile(config), manager);
            Map<String, NDArray> unet = new java.util.LinkedHashMap<>(weights(config, "unet", manager));
            unet.remove("mid_block.attentions.0.proj_in.weight");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> net.checkFits(ModelPart.UNET, LoraTargets.shapes(unet)));
            assertTrue(e.getMessage().contains("lora_unet_mid_block_attentions_0_proj_in matches no layer"),
                    e.getMessage());
            // the SD2 file's UNet modules do not fit the SD1 UNet (linear vs conv projections)
            LoraNetwork sd2 = LoraNetwork.load(LoraGoldenChecks.loraFile(GoldenData.config("tiny-sd2-vpred")), manager);
            assertThrows(IllegalArgumentException.class,
                    () -> sd2.checkFits(ModelPart.UNET, LoraTargets.shapes(weights(config, "unet", manager))));
        }
    }

    @ParameterizedTest
    @MethodSource("configs")
    void mergedWeightsEqualKohyaMergeTo(Path config) {
        try (NDManager manager = NDManager.newBaseManager();
             GoldenTensors golden = new GoldenTensors(config, LoraGoldenChecks.FILE)) {
            LoraNetwork net = LoraNetwork.load(LoraGoldenChecks.loraFile(config), manager);
            int checked = 0;
            for (String model : List.of("unet", "text_encoder")) {
                ModelPart part = model.equals("unet") ? ModelPart.UNET : ModelPart.TEXT_ENCODER;
                Map<String, NDArray> base = weights(config, model, manager);
                Map<String, NDArray> merged = net.merge(part, base, 1f);
                assertEquals(base.keySet(), merged.keySet());
                for (String name : golden.names()) {
                    String prefix = "merged." + model + ".";
                    if (name.startsWith(prefix)) {
                        String key = name.substring(prefix.length());
                        assertNull(golden.check(name, Captured.of(merged.get(key))), name);
                        checked++;
                    }
                }
                // layers without a module are passed through untouched
                assertSame(base.get(model.equals("unet") ? "conv_in.weight"
                        : "text_model.embeddings.token_embedding.weight"), merged.get(model.equals("unet")
                        ? "conv_in.weight" : "text_model.embeddings.token_embedding.weight"));
            }
            assertTrue(checked >= 4, "golden merged weights checked: " + checked);
        }
    }

    @ParameterizedTest
    @MethodSource("configs")
    void saveThenLoadGivesTheSameFile(Path config) {
        Path original = LoraGoldenChecks.loraFile(config);
        try (NDManager manager = NDManager.newBaseManager()) {
            LoraNetwork net = LoraNetwork.load(original, manager);
            Map<String, String> metadata = Map.of("ss_network_module", "networks.lora", "ss_output_name", "copy");
            for (SavePrecision precision : SavePrecision.values()) {
                Path saved = net.save(temp.resolve(precision + ".safetensors"), metadata, precision);
                try (SafeTensors a = SafeTensors.open(original); SafeTensors b = SafeTensors.open(saved)) {
                    assertEquals(a.names(), b.names());
                    assertEquals(metadata, b.metadata());
                    for (String key : a.names()) {
                        assertEquals(precision.dtype(), b.info(key).dtype(), key);
                        assertArrayEquals(a.info(key).shape(), b.info(key).shape(), key);
                        float[] expected = a.readFloats(key);
                        if (precision == SavePrecision.BF16) {
                            for (int i = 0; i < expected.length; i++) {
                                expected[i] = Float16.bf16ToFloat(Float16.floatToBf16(expected[i]));
                            }
                        }
                        // golden values are fp16-exact, so float and fp16 copies are bit-identical
                        assertArrayEquals(expected, b.readFloats(key), key);
                    }
                    assertEquals(0, b.info(net.modules().keySet().iterator().next() + ".alpha").shape().length);
                }
            }
        }
    }

    @Test
    void foreignOrBrokenKeysAreRefusedNamingTheKey() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Path loha = new SafeTensorsWriter()
                    .addFloats("lora_unet_mid_block_attentions_0_proj_in.hada_w1_a", DType.F32, new long[] {2, 2},
                            new float[4]).write(temp.resolve("loha.safetensors"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> LoraNetwork.load(loha, manager));
            assertTrue(e.getMessage().contains("hada_w1_a"), e.getMessage());

            Path sdxl = new SafeTensorsWriter()
                    .addFloats("lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", DType.F32,
                            new long[] {1, 2}, new float[2]).write(temp.resolve("sdxl.safetensors"));
            e = assertThrows(IllegalArgumentException.class, () -> LoraNetwork.load(sdxl, manager));
            assertTrue(e.getMessage().contains("SDXL"), e.getMessage());

            Path noUp = new SafeTensorsWriter()
                    .addFloats("lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", DType.F32,
                            new long[] {1, 2}, new float[2]).write(temp.resolve("noup.safetensors"));
            e = assertThrows(IllegalArgumentException.class, () -> LoraNetwork.load(noUp, manager));
            assertTrue(e.getMessage().contains("lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight"),
                    e.getMessage());

            Path badRank = new SafeTensorsWriter()
                    .addFloats("lora_te_x.lora_down.weight", DType.F32, new long[] {2, 3}, new float[6])
                    .addFloats("lora_te_x.lora_up.weight", DType.F32, new long[] {3, 4}, new float[12])
                    .write(temp.resolve("rank.safetensors"));
            e = assertThrows(IllegalArgumentException.class, () -> LoraNetwork.load(badRank, manager));
            assertTrue(e.getMessage().contains("lora_te_x") && e.getMessage().contains("rank"), e.getMessage());
        }
    }

    @Test
    void anOldFileWithoutAlphaUsesScaleOneAndAnIntegerAlphaIsRead() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Path file = new SafeTensorsWriter()
                    .addFloats("lora_te_a.lora_down.weight", DType.F16, new long[] {2, 3}, new float[6])
                    .addFloats("lora_te_a.lora_up.weight", DType.F16, new long[] {3, 2}, new float[6])
                    .addFloats("lora_unet_b.lora_down.weight", DType.F32, new long[] {4, 3}, new float[12])
                    .addFloats("lora_unet_b.lora_up.weight", DType.F32, new long[] {3, 4}, new float[12])
                    .addLongs("lora_unet_b.alpha", new long[0], new long[] {1})
                    .write(temp.resolve("old.safetensors"));
            LoraNetwork net = LoraNetwork.load(file, manager);
            assertEquals(1f, net.modules().get("lora_te_a").scale());
            assertEquals(0.25f, net.modules().get("lora_unet_b").scale());
            Set<ModelPart> parts = new HashSet<>();
            net.modules().values().forEach(m -> parts.add(m.part()));
            assertEquals(Set.of(ModelPart.TEXT_ENCODER, ModelPart.UNET), parts);
        }
    }
}
