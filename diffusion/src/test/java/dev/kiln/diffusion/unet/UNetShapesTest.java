package dev.kiln.diffusion.unet;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A UNet of a shape unlike the golden ones runs from its config alone. */
class UNetShapesTest {

    /** 3 down blocks, per-block heads (8-wide), cross-attention width 96, 2-deep transformer in block 0,
     *  linear projections, upcast attention, 8 groups, a custom time-embedding width. */
    static UNetConfig otherShape() throws Exception {
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree("""
                {"block_out_channels": [16, 32, 48],
                 "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                 "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
                 "attention_head_dim": [2, 4, 6], "cross_attention_dim": 96, "layers_per_block": [1, 2, 1],
                 "transformer_layers_per_block": [2, 1, 1], "use_linear_projection": true,
                 "upcast_attention": true, "norm_num_groups": 8, "time_embedding_dim": 40,
                 "in_channels": 4, "out_channels": 3}""");
        return UNetConfig.fromJson(json, "test config");
    }

    @Test
    void otherShapedConfigRunsWithCorrectShapesAndUsesEveryWeight() throws Exception {
        UNetConfig config = otherShape();
        assertEquals(6, config.heads()[2]);
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(5);
            Map<String, NDArray> weights = UNetParameters.random(config, m);
            Set<String> called = new HashSet<>();
            UNet2DConditionModel unet = new UNet2DConditionModel(config, weights)
                    .withLayerHook((call, out) -> {
                        called.add(call.name());
                        return out;
                    });
            // odd latent height: the up path must resize to each skip's size (9 -> 5 -> 3 -> 5 -> 9)
            NDArray sample = m.randomNormal(new Shape(2, 4, 9, 14));
            NDArray context = m.randomNormal(new Shape(2, 5, 96));
            Map<String, Shape> seen = new java.util.LinkedHashMap<>();
            NDArray out = unet.forward(sample, m.create(new long[] {10, 900}), context,
                    (name, value) -> seen.put(name, value.getShape()));

            assertEquals(new Shape(2, 3, 9, 14), out.getShape());
            for (float v : out.toFloatArray()) {
                assertTrue(Float.isFinite(v));
            }
            assertEquals(new Shape(2, 40), seen.get("time_embedding"));
            assertEquals(new Shape(2, 48, 3, 4), seen.get("mid_block"));
            assertEquals(new Shape(2, 48, 5, 7), seen.get("up_blocks.0"));
            assertEquals(new Shape(2, 32, 9, 14), seen.get("up_blocks.1"));
            assertEquals(new Shape(2, 9 * 14, 16), seen.get("down_blocks.0.attentions.0.transformer_blocks.1.attn2"));
            assertTrue(seen.containsKey("up_blocks.1.attentions.2"), "up block 1 mirrors down block 1: 3 layers");

            Set<String> modules = UNetParameters.shapes(config).entrySet().stream()
                    .filter(e -> e.getValue().dimension() >= 2)
                    .map(e -> e.getKey().substring(0, e.getKey().length() - ".weight".length()))
                    .collect(Collectors.toCollection(TreeSet::new));
            assertEquals(modules, new TreeSet<>(called), "every Linear/Conv ran through the hook");
        }
    }

    @Test
    void gradientsFlowThroughTheScopedForward() throws Exception {
        UNetConfig config = otherShape();
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(9);
            UNet2DConditionModel unet = new UNet2DConditionModel(config, UNetParameters.random(config, m));
            NDArray sample = m.randomNormal(new Shape(1, 4, 8, 8));
            NDArray context = m.randomNormal(new Shape(1, 3, 96));
            NDArray t = m.create(new long[] {500});
            NDArray weights = m.randomNormal(new Shape(1, 3, 8, 8));
            NDArray direction = m.randomNormal(new Shape(1, 4, 8, 8));

            sample.setRequiresGradient(true);
            double analytic;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray loss = unet.forward(sample, t, context).mul(weights).sum();
                gc.backward(loss);
                analytic = sample.getGradient().mul(direction).sum().getFloat();
            }
            float eps = 1e-2f;
            NDArray plain = sample.stopGradient();
            double up = unet.forward(plain.add(direction.mul(eps)), t, context).mul(weights).sum().getFloat();
            double down = unet.forward(plain.sub(direction.mul(eps)), t, context).mul(weights).sum().getFloat();
            double numeric = (up - down) / (2 * eps);
            assertTrue(Math.abs(analytic) > 1e-3, "non-trivial directional derivative " + analytic);
            assertEquals(numeric, analytic, 0.02 * Math.abs(numeric),
                    "autograd directional derivative vs central difference");
        }
    }

    @Test
    void weightsThatDoNotFitTheConfigAreNamed() throws Exception {
        UNetConfig config = otherShape();
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> weights = new java.util.HashMap<>(UNetParameters.random(config, m));
            weights.remove("mid_block.attentions.0.proj_in.weight");
            weights.put("conv_in.weight", m.zeros(new Shape(16, 4, 1, 1)));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new UNet2DConditionModel(config, weights));
            assertTrue(e.getMessage().contains("mid_block.attentions.0.proj_in.weight missing"), e.getMessage());
            assertTrue(e.getMessage().contains("conv_in.weight has shape"), e.getMessage());
        }
    }

    @Test
    void unsupportedConfigFieldsAreRefusedByName() {
        String json = """
                {"block_out_channels": [32], "down_block_types": ["DownBlock2D"], "up_block_types": ["UpBlock2D"],
                 "addition_embed_type": "text_time"}""";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> UNetConfig.fromJson(new ObjectMapper().readTree(json), "sdxl/config.json"));
        assertTrue(e.getMessage().contains("sdxl/config.json") && e.getMessage().contains("addition_embed_type"),
                e.getMessage());
    }

    @Test
    void sd15ConfigHasTheKnownParameterCount() {
        // SD 1.5's UNet has 859,520,964 parameters (diffusers UNet2DConditionModel, runwayml/stable-diffusion-v1-5)
        assertEquals(859_520_964L, UNetParameters.count(UNetConfig.stableDiffusion15()));
    }
}
