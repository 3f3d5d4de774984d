package dev.kiln.diffusion.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.textencoder.ClipTextConfig;
import dev.kiln.diffusion.unet.UNetConfig;
import dev.kiln.diffusion.unet.UNetParameters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** kohya's choice of LoRA layers, from model configs, against the golden kohya files and sd-scripts' counts. */
class LoraTargetsTest {

    static List<Path> configs() {
        return GoldenData.configFolders();
    }

    /** The golden files were made with network_dim 4, alpha 2, conv_dim 4, conv_alpha 1. */
    static LoraNetworkConfig goldenArgs(boolean conv) {
        return LoraNetworkConfig.fromArgs(4, 2f, null,
                conv ? Map.of("conv_dim", "4", "conv_alpha", "1.0") : Map.of(), false, false);
    }

    static List<LoraTarget> targets(Path config, LoraNetworkConfig args) {
        List<LoraTarget> out = new ArrayList<>(LoraTargets.textEncoder(LoraTargets.textEncoderShapes(
                ClipTextConfig.read(config.resolve("diffusers/text_encoder/config.json"))), args));
        out.addAll(LoraTargets.unet(UNetParameters.shapes(
                UNetConfig.read(config.resolve("diffusers/unet/config.json"))), args));
        return out;
    }

    @ParameterizedTest
    @MethodSource("configs")
    void discoveryFromTheConfigsGivesExactlyTheGoldenFilesModules(Path config) {
        try (NDManager manager = NDManager.newBaseManager()) {
            LoraNetwork file = LoraNetwork.load(LoraGoldenChecks.loraFile(config), manager);
            List<LoraTarget> targets = targets(config, goldenArgs(true));
            assertEquals(new TreeSet<>(file.modules().keySet()),
                    targets.stream().map(LoraTarget::loraName).collect(Collectors.toCollection(TreeSet::new)));
            LoraNetwork created = LoraNetwork.create(targets, manager, 1);
            for (LoraTarget t : targets) {
                LoraModule expected = file.modules().get(t.loraName());
                LoraModule actual = created.modules().get(t.loraName());
                assertEquals(expected.rank(), t.rank(), t.loraName());
                assertEquals(expected.alpha(), t.alpha(), t.loraName());
                assertEquals(expected.down().getShape(), actual.down().getShape(), t.loraName());
                assertEquals(expected.up().getShape(), actual.up().getShape(), t.loraName());
                assertEquals(expected.baseWeightShape(), t.weightShape(), t.loraName());
            }

            // without conv_dim only the Transformer2D layers remain
            Set<String> plain = targets(config, goldenArgs(false)).stream().map(LoraTarget::loraName)
                    .collect(Collectors.toSet());
            Set<String> expected = file.modules().keySet().stream()
                    .filter(n -> n.startsWith("lora_te_") || n.contains("_attentions_")).collect(Collectors.toSet());
            assertEquals(expected, plain);
        }
    }

    @Test
    void moduleCountsAndParameterCountsMatchSdScriptsForRealModels() {
        LoraNetworkConfig plain = LoraNetworkConfig.fromArgs(null, null, null, Map.of(), false, false);
        LoraNetworkConfig conv = LoraNetworkConfig.fromArgs(null, null, null, Map.of("conv_dim", "4"), false, false);
        Map<String, Shape> sd15 = UNetParameters.shapes(UNetConfig.stableDiffusion15());
        Map<String, Shape> sd21 = UNetParameters.shapes(sd21Unet());
        Map<String, Shape> te1 = LoraTargets.textEncoderShapes(ClipTextConfig.stableDiffusion1());
        Map<String, Shape> te2 = LoraTargets.textEncoderShapes(ClipTextConfig.stableDiffusion2());

        assertEquals(192, LoraTargets.unet(sd15, plain).size());
        assertEquals(278, LoraTargets.unet(sd15, conv).size());
        assertEquals(192, LoraTargets.unet(sd21, plain).size());
        assertEquals(278, LoraTargets.unet(sd21, conv).size());
        assertEquals(72, LoraTargets.textEncoder(te1, plain).size());
        assertEquals(138, LoraTargets.textEncoder(te2, plain).size());

        // r·Σ(in+out) for SD1.x at the default rank 4 (sd-scripts: U-Net 423,936·r, text encoder 165,888·r)
        assertEquals(423_936L * 4, parameterCount(LoraTargets.unet(sd15, plain)));
        assertEquals(165_888L * 4, parameterCount(LoraTargets.textEncoder(te1, plain)));
        // SD2.x total 856,064·r
        assertEquals(856_064L * 4, parameterCount(LoraTargets.unet(sd21, plain))
                + parameterCount(LoraTargets.textEncoder(te2, plain)));

        LoraTarget q = LoraTargets.textEncoder(te1, plain).stream()
                .filter(t -> t.loraName().equals("lora_te_text_model_encoder_layers_0_self_attn_q_proj")).findFirst()
                .orElseThrow();
        assertEquals(new Shape(768, 768), q.weightShape());
        assertEquals(0.25f, q.alpha() / q.rank());
        assertTrue(LoraTargets.unet(sd15, conv).stream()
                .anyMatch(t -> t.loraName().equals("lora_unet_down_blocks_1_resnets_0_conv1") && t.rank() == 4
                        && t.alpha() == 1f && t.weightShape().equals(new Shape(640, 320, 3, 3))));
    }

    @Test
    void rankZeroSkipsLayersAndAlphaZeroMeansScaleOne() {
        Map<String, Shape> sd15 = UNetParameters.shapes(UNetConfig.stableDiffusion15());
        LoraNetworkConfig convOnlyOff = LoraNetworkConfig.fromArgs(8, 0f, null, Map.of("conv_dim", "0"), false, false);
        List<LoraTarget> targets = LoraTargets.unet(sd15, convOnlyOff);
        assertEquals(192, targets.size());
        assertTrue(targets.stream().allMatch(t -> t.rank() == 8 && t.alpha() == 8f));
    }

    private static long parameterCount(List<LoraTarget> targets) {
        return targets.stream().mapToLong(t -> (long) t.rank() * (t.fanIn() + t.weightShape().get(0))).sum();
    }

    /** stabilityai/stable-diffusion-2-1's UNet config. */
    private static UNetConfig sd21Unet() {
        ObjectNode json = new ObjectMapper().createObjectNode();
        json.putArray("block_out_channels").add(320).add(640).add(1280).add(1280);
        json.putArray("down_block_types").add("CrossAttnDownBlock2D").add("CrossAttnDownBlock2D")
                .add("CrossAttnDownBlock2D").add("DownBlock2D");
        json.putArray("up_block_types").add("UpBlock2D").add("CrossAttnUpBlock2D").add("CrossAttnUpBlock2D")
                .add("CrossAttnUpBlock2D");
        json.putArray("attention_head_dim").add(5).add(10).add(20).add(20);
        json.put("cross_attention_dim", 1024);
        json.put("use_linear_projection", true);
        json.put("upcast_attention", true);
        return UNetConfig.fromJson(json, "SD 2.1 UNet config");
    }
}
