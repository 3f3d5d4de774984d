package dev.kiln.diffusion.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.nn.LayerCall;
import dev.kiln.diffusion.nn.LayerHook;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.textencoder.ClipTextConfig;
import dev.kiln.diffusion.textencoder.ClipTextModel;
import dev.kiln.diffusion.train.optim.ParamGroup;
import dev.kiln.diffusion.unet.UNetConfig;
import dev.kiln.diffusion.unet.UNetParameters;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A new network: kohya initialisation, network args, learning-rate groups, continuing from a file, dropouts. */
class LoraNetworkTest {

    private static final Path SD15 = GoldenData.config("tiny-sd15");

    @Test
    void downIsKaimingUniformAndUpIsZero() {
        LoraNetworkConfig args = LoraNetworkConfig.fromArgs(16, 8f, null, Map.of("conv_dim", "8"), false, false);
        List<LoraTarget> targets = LoraTargets.unet(UNetParameters.shapes(UNetConfig.stableDiffusion15()), args);
        try (NDManager manager = NDManager.newBaseManager()) {
            LoraNetwork net = LoraNetwork.create(targets, manager, 42);
            for (String name : List.of("lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_2",
                    "lora_unet_up_blocks_1_resnets_0_conv1", "lora_unet_down_blocks_0_attentions_0_proj_in")) {
                LoraModule m = net.modules().get(name);
                LoraTarget t = targets.stream().filter(x -> x.loraName().equals(name)).findFirst().orElseThrow();
                double bound = 1 / Math.sqrt(t.fanIn());
                float[] down = m.down().toFloatArray();
                double sum = 0;
                double sumSq = 0;
                double max = 0;
                for (float v : down) {
                    sum += v;
                    sumSq += (double) v * v;
                    max = Math.max(max, Math.abs(v));
                }
                int n = down.length;
                double mean = sum / n;
                double variance = sumSq / n - mean * mean;
                double uniformVariance = bound * bound / 3;
                assertTrue(max <= bound && max > 0.99 * bound, name + " max " + max + " bound " + bound);
                // mean within 5 standard errors of 0, variance within 5% of U(-b, b)'s b²/3
                assertTrue(Math.abs(mean) < 5 * Math.sqrt(uniformVariance / n), name + " mean " + mean);
                assertEquals(uniformVariance, variance, 0.05 * uniformVariance, name);
                for (float v : m.up().toFloatArray()) {
                    assertEquals(0f, v);
                }
                assertEquals(t.rank(), m.rank());
            }
            assertEquals(0.5f, net.modules().get("lora_unet_mid_block_attentions_0_proj_in").scale());
            assertEquals(1f, net.modules().get("lora_unet_mid_block_resnets_0_conv1").alpha(),
                    "conv_alpha defaults to 1 when conv_dim is given");

            LoraNetwork same = LoraNetwork.create(targets, manager, 42);
            LoraNetwork other = LoraNetwork.create(targets, manager, 43);
            String key = "lora_unet_mid_block_attentions_0_proj_in";
            assertArrayEquals(net.modules().get(key).down().toFloatArray(), same.modules().get(key).down().toFloatArray());
            assertFalse(java.util.Arrays.equals(net.modules().get(key).down().toFloatArray(),
                    other.modules().get(key).down().toFloatArray()));
        }
    }

    @Test
    void aFreshNetworkLeavesTheTextEncoderOutputUnchanged() {
        try (NDManager manager = NDManager.newBaseManager();
             SafeTensors st = SafeTensors.open(SD15.resolve("diffusers/text_encoder/model.safetensors"))) {
            ClipTextModel te = new ClipTextModel(ClipTextConfig.read(SD15.resolve("diffusers/text_encoder/config.json")),
                    st.loadAll(manager));
            LoraNetwork net = LoraNetwork.create(LoraTargets.textEncoder(LoraTargets.shapes(te.weights()),
                    LoraNetworkConfig.fromArgs(4, 1f, null, Map.of(), false, false)), manager, 7);
            assertEquals(18, net.modules().size());
            NDArray ids = manager.create(new long[] {998, 5, 17, 999, 999, 999}).reshape(1, 6);
            float[] base = te.forward(ids).lastHiddenState().toFloatArray();
            float[] hooked = te.withLayerHook(net.hook(ModelPart.TEXT_ENCODER, 1f)).forward(ids).lastHiddenState()
                    .toFloatArray();
            assertArrayEquals(base, hooked);
        }
    }

    @Test
    void networkArgsAreParsedLikeSdScriptsAndUnsupportedOnesRefused() {
        LoraNetworkConfig c = LoraNetworkConfig.fromArgs(null, null, null,
                Map.of("conv_dim", "8", "rank_dropout", "0.1", "module_dropout", "0.2", "dropout", "0.3"), false, false);
        assertEquals(4, c.networkDim());
        assertEquals(1f, c.networkAlpha());
        assertEquals(8, c.convDim());
        assertEquals(1f, c.convAlpha());
        assertEquals(new LoraDropout(0.3f, 0.1f, 0.2f), c.dropout());
        assertEquals(0.05f, LoraNetworkConfig.fromArgs(null, null, 0.05f, Map.of("dropout", "0.3"), false, false)
                .dropout().dropout(), "--network_dropout wins over network_args dropout");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraNetworkConfig.fromArgs(4, 1f, null, Map.of("block_dims", "2,2"), false, false));
        assertTrue(e.getMessage().contains("block_dims") && e.getMessage().contains("not supported"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> LoraNetworkConfig.fromArgs(4, 1f, null, Map.of("conv_dims", "2"), false, false));
        assertTrue(e.getMessage().contains("conv_dims") && e.getMessage().contains("unknown"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> LoraNetworkConfig.fromArgs(4, 1f, null, Map.of("conv_dim", "4.5"), false, false));
        assertTrue(e.getMessage().contains("conv_dim=4.5"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> LoraNetworkConfig.fromArgs(4, 1f, 1.5f, Map.of(), false, false));
        assertThrows(IllegalArgumentException.class,
                () -> LoraNetworkConfig.fromArgs(4, 1f, null, Map.of(), true, true));
    }

    @Test
    void learningRateGroupsFollowPrepareOptimizerParams() {
        try (NDManager manager = NDManager.newBaseManager()) {
            LoraNetwork net = LoraNetwork.load(LoraGoldenChecks.loraFile(SD15), manager);
            List<ParamGroup> groups = net.parameterGroups(5e-5, null, 1e-4);
            assertEquals(List.of("textencoder", "unet"), groups.stream().map(ParamGroup::name).toList());
            assertEquals(5e-5, groups.get(0).lr());
            assertEquals(1e-4, groups.get(1).lr());
            assertEquals(2 * 18, groups.get(0).params().size());
            assertEquals(2 * 117, groups.get(1).params().size());
            assertTrue(groups.get(1).params().containsKey("lora_unet_mid_block_resnets_0_conv1.lora_up.weight"));

            List<ParamGroup> frozenTe = net.parameterGroups(0.0, 2e-4, 1e-4);
            assertEquals(1, frozenTe.size());
            assertEquals("unet", frozenTe.get(0).name());
            assertEquals(2e-4, frozenTe.get(0).lr());

            LoraNetworkConfig unetOnly = LoraNetworkConfig.fromArgs(4, 1f, null, Map.of(), true, false);
            assertFalse(unetOnly.trainTextEncoder());
        }
    }

    @Test
    void networkWeightsContinueFromAFile() {
        Path file = LoraGoldenChecks.loraFile(SD15);
        try (NDManager manager = NDManager.newBaseManager(); SafeTensors st = SafeTensors.open(file)) {
            List<LoraTarget> targets = LoraTargetsTest.targets(SD15, LoraTargetsTest.goldenArgs(true));
            LoraNetwork net = LoraNetwork.create(targets, manager, 3);
            LoraNetwork.WeightsReport report = net.loadWeights(file);
            assertEquals(List.of(), report.unexpectedKeys());
            assertEquals(List.of(), report.missingKeys());
            for (LoraModule m : net.modules().values()) {
                assertArrayEquals(st.readFloats(m.name() + ".lora_down.weight"), m.down().toFloatArray(), m.name());
                assertArrayEquals(st.readFloats(m.name() + ".lora_up.weight"), m.up().toFloatArray(), m.name());
            }

            // a network without conv modules takes the linear ones and reports the rest
            LoraNetwork plain = LoraNetwork.create(LoraTargetsTest.targets(SD15, LoraTargetsTest.goldenArgs(false)),
                    manager, 3);
            report = plain.loadWeights(file);
            assertTrue(report.unexpectedKeys().contains("lora_unet_mid_block_resnets_0_conv1.lora_down.weight"));
            assertEquals(List.of(), report.missingKeys());

            LoraNetwork rank8 = LoraNetwork.create(LoraTargetsTest.targets(SD15,
                    LoraNetworkConfig.fromArgs(8, 2f, null, Map.of(), false, false)), manager, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> rank8.loadWeights(file));
            assertTrue(e.getMessage().contains("lora_down.weight") && e.getMessage().contains("shape"), e.getMessage());
        }
    }

    @Test
    void moduleAndRankDropoutFollowKohyaForward() {
        try (NDManager manager = NDManager.newBaseManager()) {
            // one Linear LoRA 3 -> 2 of rank 2, scale 0.5
            NDArray down = manager.create(new float[] {1, 0, 2, 0, 1, -1}, new Shape(2, 3));
            NDArray up = manager.create(new float[] {1, 2, -1, 3}, new Shape(2, 2));
            Map<String, LoraModule> modules = Map.of("lora_unet_x", new LoraModule("lora_unet_x", down, up, 1f));
            LoraNetwork net = networkOf(modules, manager);
            NDArray x = manager.create(new float[] {1, 2, 3, -1, 0.5f, 2, 0, 1, 1, 2, 2, 2}, new Shape(4, 3));
            NDArray base = manager.zeros(new Shape(4, 2));
            LayerCall call = new LayerCall("x", x, manager.zeros(new Shape(2, 3)), 1, 0);
            float[] h = x.matMul(down.transpose()).toFloatArray(); // [4, 2]
            float[] upW = up.toFloatArray();

            // rank dropout 0.5: each sample keeps a subset of ranks, and the kept part is scaled by 0.5 / (1 - 0.5)
            LayerHook rank = net.trainingHook(ModelPart.UNET, 1f, new LoraDropout(null, 0.5f, null), new Random(1));
            for (int trial = 0; trial < 5; trial++) {
                float[] out = rank.apply(call, base).toFloatArray();
                for (int b = 0; b < 4; b++) {
                    boolean matched = false;
                    for (int mask = 0; mask < 4 && !matched; mask++) {
                        matched = true;
                        for (int o = 0; o < 2; o++) {
                            double expected = 0;
                            for (int r = 0; r < 2; r++) {
                                expected += ((mask >> r) & 1) * upW[o * 2 + r] * h[b * 2 + r];
                            }
                            expected *= 0.5 / (1 - 0.5);
                            matched &= Math.abs(expected - out[b * 2 + o]) < 1e-5;
                        }
                    }
                    assertTrue(matched, "sample " + b + " is not a rank subset: " + java.util.Arrays.toString(out));
                }
            }

            // module dropout: a call either adds the full delta or nothing, decided by the given Random
            float[] full = net.hook(ModelPart.UNET, 1f).apply(call, base).toFloatArray();
            LayerHook module = net.trainingHook(ModelPart.UNET, 1f, new LoraDropout(null, null, 0.5f), new Random(5));
            Random replay = new Random(5);
            for (int i = 0; i < 10; i++) {
                float[] out = module.apply(call, base).toFloatArray();
                boolean skipped = replay.nextFloat() < 0.5f;
                assertArrayEquals(skipped ? new float[8] : full, out, 1e-6f, "call " + i);
            }
            // layers without a module are untouched
            LayerCall other = new LayerCall("y", x, manager.zeros(new Shape(2, 3)), 1, 0);
            assertEquals(base, net.hook(ModelPart.UNET, 1f).apply(other, base));
            assertNull(net.modules().get("lora_unet_y"));
        }
    }

    @Test
    void scaleWeightNormsShrinksOnlyModulesAboveTheMaximum() {
        try (NDManager manager = NDManager.newBaseManager()) {
            // big: delta = 0.5 · [[2,0],[0,2]]·[[3,0],[0,4]] -> diag(3, 4), norm 5; small: norm 0.5 · 0.1·1 = 0.05
            NDArray bigDown = manager.create(new float[] {3, 0, 0, 4}, new Shape(2, 2));
            NDArray bigUp = manager.create(new float[] {2, 0, 0, 2}, new Shape(2, 2));
            NDArray smallDown = manager.create(new float[] {0.1f, 0, 0, 0}, new Shape(2, 2, 1, 1));
            NDArray smallUp = manager.create(new float[] {1, 0, 0, 0}, new Shape(2, 2, 1, 1));
            Map<String, LoraModule> modules = new java.util.LinkedHashMap<>();
            modules.put("lora_unet_big", new LoraModule("lora_unet_big", bigDown, bigUp, 1f));
            modules.put("lora_unet_small", new LoraModule("lora_unet_small", smallDown, smallUp, 1f));
            LoraNetwork net = networkOf(modules, manager);
            LoraNetwork.MaxNormResult result = net.applyMaxNorm(2.0);
            assertEquals(1, result.keysScaled());
            // big is scaled to norm 2 (ratio 0.4, both factors by √0.4); small keeps 0.05
            assertEquals(2.0, result.maxNorm(), 1e-5);
            assertEquals((2.0 + 0.05) / 2, result.meanNorm(), 1e-5);
            double root = Math.sqrt(0.4);
            LoraModule big = net.modules().get("lora_unet_big");
            assertArrayEquals(new float[] {(float) (3 * root), 0, 0, (float) (4 * root)}, big.down().toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {(float) (2 * root), 0, 0, (float) (2 * root)}, big.up().toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {0.1f, 0, 0, 0}, net.modules().get("lora_unet_small").down().toFloatArray());
        }
    }

    @Test
    void gradientsReachTheLoraTensorsThroughTheHook() {
        try (NDManager manager = NDManager.newBaseManager()) {
            float[] downW = {0.5f, -1, 0.25f, 2, 0, 1};        // [2, 3]
            float[] upW = {1, -0.5f, 0.75f, 2, -1, 0.5f, 3, 1}; // [4, 2]
            Map<String, LoraModule> modules = Map.of("lora_te_l", new LoraModule("lora_te_l",
                    manager.create(downW, new Shape(2, 3)), manager.create(upW, new Shape(4, 2)), 1f));
            LoraNetwork net = networkOf(modules, manager);
            net.attachGradients();
            float[] xs = {1, 2, -1, 0.5f, -2, 3};               // [2, 3]
            float[] cs = {1, 0, -1, 2, 0.5f, 1, 1, -3};         // [2, 4]
            NDArray x = manager.create(xs, new Shape(2, 3));
            NDArray c = manager.create(cs, new Shape(2, 4));
            LayerCall call = new LayerCall("l", x, manager.zeros(new Shape(4, 3)), 1, 0);
            try (ai.djl.training.GradientCollector collector = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                NDArray out = net.hook(ModelPart.TEXT_ENCODER, 2f).apply(call, manager.zeros(new Shape(2, 4)));
                collector.backward(out.mul(c).sum());
            }
            // loss = m·s·Σ c[b,o]·Σ_r up[o,r]·h[b,r], h = x·downᵀ; m = 2, s = alpha/rank = 0.5
            double ms = 2 * 0.5;
            double[] h = new double[4];
            for (int b = 0; b < 2; b++) {
                for (int r = 0; r < 2; r++) {
                    for (int i = 0; i < 3; i++) {
                        h[b * 2 + r] += xs[b * 3 + i] * downW[r * 3 + i];
                    }
                }
            }
            float[] gradUp = net.modules().get("lora_te_l").up().getGradient().toFloatArray();
            float[] gradDown = net.modules().get("lora_te_l").down().getGradient().toFloatArray();
            for (int o = 0; o < 4; o++) {
                for (int r = 0; r < 2; r++) {
                    double expected = 0;
                    for (int b = 0; b < 2; b++) {
                        expected += ms * cs[b * 4 + o] * h[b * 2 + r];
                    }
                    assertEquals(expected, gradUp[o * 2 + r], 1e-5, "up[" + o + "," + r + "]");
                }
            }
            for (int r = 0; r < 2; r++) {
                for (int i = 0; i < 3; i++) {
                    double expected = 0;
                    for (int b = 0; b < 2; b++) {
                        for (int o = 0; o < 4; o++) {
                            expected += ms * cs[b * 4 + o] * upW[o * 2 + r] * xs[b * 3 + i];
                        }
                    }
                    assertEquals(expected, gradDown[r * 3 + i], 1e-5, "down[" + r + "," + i + "]");
                }
            }
        }
    }

    /** A network holding exactly {@code modules}, through a file round trip (the public way to build one). */
    private static LoraNetwork networkOf(Map<String, LoraModule> modules, NDManager manager) {
        try {
            Path dir = java.nio.file.Files.createTempDirectory("lora");
            Path file = dir.resolve("n.safetensors");
            var writer = new dev.kiln.diffusion.safetensors.SafeTensorsWriter();
            modules.values().forEach(m -> writer.add(m.name() + ".lora_down.weight", m.down())
                    .add(m.name() + ".lora_up.weight", m.up())
                    .addFloats(m.name() + ".alpha", dev.kiln.diffusion.safetensors.DType.F32, new long[0],
                            new float[] {m.alpha()}));
            writer.write(file);
            LoraNetwork net = LoraNetwork.load(file, manager);
            java.nio.file.Files.delete(file);
            java.nio.file.Files.delete(dir);
            return net;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
