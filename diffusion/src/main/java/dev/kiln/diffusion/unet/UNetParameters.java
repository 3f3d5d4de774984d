package dev.kiln.diffusion.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.nn.ParameterShapes;

import java.util.Map;

/**
 * The parameter names and shapes a {@link UNetConfig} implies, in diffusers naming. Used to check a loaded
 * weight map before the first forward (clear errors instead of shape failures deep inside a block) and to
 * build randomly initialised UNets of any shape (benchmarks, tests).
 */
public final class UNetParameters {

    private final UNetConfig config;
    private final ParameterShapes p = new ParameterShapes("UNet");

    private UNetParameters(UNetConfig config) {
        this.config = config;
        build();
    }

    /** The parameter layout of {@code config}'s UNet. */
    public static ParameterShapes of(UNetConfig config) {
        return new UNetParameters(config).p;
    }

    /** Every parameter of {@code config}'s UNet with its shape, in forward order. */
    public static Map<String, Shape> shapes(UNetConfig config) {
        return of(config).asMap();
    }

    /** Total parameter count. */
    public static long count(UNetConfig config) {
        return of(config).count();
    }

    /** Fails naming every parameter that is missing or shaped unlike the config; extra entries are allowed. */
    public static void validate(UNetConfig config, Map<String, NDArray> weights) {
        of(config).validate(weights);
    }

    /** Random float32 weights for {@code config} (see {@link ParameterShapes#random}). */
    public static Map<String, NDArray> random(UNetConfig config, NDManager manager) {
        return of(config).random(manager);
    }
    private void build() {
        int[] ch = config.blockOutChannels();
        int n = config.blockCount();
        int t = config.timeEmbeddingDim();
        linear("time_embedding.linear_1", ch[0], t);
        linear("time_embedding.linear_2", t, t);
        conv("conv_in", config.inChannels(), ch[0], config.convInKernel());
        for (int i = 0; i < n; i++) {
            String name = "down_blocks." + i;
            boolean cross = config.downBlockTypes().get(i).equals("CrossAttnDownBlock2D");
            int in = i == 0 ? ch[0] : ch[i - 1];
            for (int j = 0; j < config.layersPerBlock()[i]; j++) {
                resnet(name + ".resnets." + j, j == 0 ? in : ch[i], ch[i]);
                if (cross) {
                    transformer(name + ".attentions." + j, ch[i], i);
                }
            }
            if (i < n - 1) {
                conv(name + ".downsamplers.0.conv", ch[i], ch[i], 3);
            }
        }
        if (config.midBlockType() != null) {
            int c = ch[n - 1];
            resnet("mid_block.resnets.0", c, c);
            transformer("mid_block.attentions.0", c, n - 1);
            resnet("mid_block.resnets.1", c, c);
        }
        int prevOut = ch[n - 1];
        for (int i = 0; i < n; i++) {
            int down = n - 1 - i;
            String name = "up_blocks." + i;
            boolean cross = config.upBlockTypes().get(i).equals("CrossAttnUpBlock2D");
            int out = ch[down];
            int skipIn = ch[Math.max(down - 1, 0)];
            int resnets = config.layersPerBlock()[down] + 1;
            for (int j = 0; j < resnets; j++) {
                int skip = j == resnets - 1 ? skipIn : out;
                resnet(name + ".resnets." + j, (j == 0 ? prevOut : out) + skip, out);
                if (cross) {
                    transformer(name + ".attentions." + j, out, down);
                }
            }
            if (i < n - 1) {
                conv(name + ".upsamplers.0.conv", out, out, 3);
            }
            prevOut = out;
        }
        norm("conv_norm_out", ch[0]);
        conv("conv_out", ch[0], config.outChannels(), config.convOutKernel());
    }

    private void resnet(String name, int in, int out) {
        norm(name + ".norm1", in);
        conv(name + ".conv1", in, out, 3);
        linear(name + ".time_emb_proj", config.timeEmbeddingDim(), out);
        norm(name + ".norm2", out);
        conv(name + ".conv2", out, out, 3);
        if (in != out) {
            conv(name + ".conv_shortcut", in, out, 1);
        }
    }

    /** Transformer2DModel with the settings of down block {@code block} (mid block: the last one). */
    private void transformer(String name, int c, int block) {
        int context = config.crossAttentionDim()[block];
        boolean crossOnly = !name.startsWith("mid_block") && config.onlyCrossAttention()[block];
        norm(name + ".norm", c);
        projection(name + ".proj_in", c);
        for (int d = 0; d < config.transformerLayersPerBlock()[block]; d++) {
            String b = name + ".transformer_blocks." + d;
            norm(b + ".norm1", c);
            attention(b + ".attn1", c, crossOnly ? context : c);
            norm(b + ".norm2", c);
            attention(b + ".attn2", c, context);
            norm(b + ".norm3", c);
            linear(b + ".ff.net.0.proj", c, c * 8);
            linear(b + ".ff.net.2", c * 4, c);
        }
        projection(name + ".proj_out", c);
    }

    private void attention(String name, int c, int context) {
        put(name + ".to_q.weight", c, c);
        put(name + ".to_k.weight", c, context);
        put(name + ".to_v.weight", c, context);
        linear(name + ".to_out.0", c, c);
    }

    private void projection(String name, int c) {
        if (config.useLinearProjection()) {
            linear(name, c, c);
        } else {
            conv(name, c, c, 1);
        }
    }

    private void linear(String name, int in, int out) {
        p.linear(name, in, out);
    }

    private void conv(String name, int in, int out, int kernel) {
        p.conv(name, in, out, kernel);
    }

    private void norm(String name, int c) {
        p.norm(name, c);
    }

    private void put(String name, long... shape) {
        p.put(name, shape);
    }
}
