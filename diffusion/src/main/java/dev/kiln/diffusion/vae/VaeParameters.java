package dev.kiln.diffusion.vae;

import dev.kiln.diffusion.nn.ParameterShapes;

/** The parameter names and shapes a {@link VaeConfig} implies, in diffusers naming. */
public final class VaeParameters {

    private VaeParameters() {
    }

    /** The parameter layout of {@code config}'s AutoencoderKL. */
    public static ParameterShapes of(VaeConfig config) {
        ParameterShapes p = new ParameterShapes("VAE");
        int[] ch = config.blockOutChannels();
        int n = ch.length;
        int last = ch[n - 1];
        p.conv("encoder.conv_in", config.inChannels(), ch[0], 3);
        for (int i = 0; i < n; i++) {
            String name = "encoder.down_blocks." + i;
            for (int j = 0; j < config.layersPerBlock(); j++) {
                resnet(p, name + ".resnets." + j, j == 0 ? ch[Math.max(i - 1, 0)] : ch[i], ch[i]);
            }
            if (i < n - 1) {
                p.conv(name + ".downsamplers.0.conv", ch[i], ch[i], 3);
            }
        }
        midBlock(p, config, "encoder.mid_block", last);
        p.norm("encoder.conv_norm_out", last);
        p.conv("encoder.conv_out", last, 2 * config.latentChannels(), 3);
        if (config.useQuantConv()) {
            p.conv("quant_conv", 2 * config.latentChannels(), 2 * config.latentChannels(), 1);
        }
        if (config.usePostQuantConv()) {
            p.conv("post_quant_conv", config.latentChannels(), config.latentChannels(), 1);
        }
        p.conv("decoder.conv_in", config.latentChannels(), last, 3);
        midBlock(p, config, "decoder.mid_block", last);
        int prev = last;
        for (int i = 0; i < n; i++) {
            String name = "decoder.up_blocks." + i;
            int out = ch[n - 1 - i];
            for (int j = 0; j < config.layersPerBlock() + 1; j++) {
                resnet(p, name + ".resnets." + j, j == 0 ? prev : out, out);
            }
            if (i < n - 1) {
                p.conv(name + ".upsamplers.0.conv", out, out, 3);
            }
            prev = out;
        }
        p.norm("decoder.conv_norm_out", ch[0]);
        p.conv("decoder.conv_out", ch[0], config.outChannels(), 3);
        return p;
    }

    private static void resnet(ParameterShapes p, String name, int in, int out) {
        p.norm(name + ".norm1", in);
        p.conv(name + ".conv1", in, out, 3);
        p.norm(name + ".norm2", out);
        p.conv(name + ".conv2", out, out, 3);
        if (in != out) {
            p.conv(name + ".conv_shortcut", in, out, 1);
        }
    }

    private static void midBlock(ParameterShapes p, VaeConfig config, String name, int c) {
        resnet(p, name + ".resnets.0", c, c);
        if (config.midBlockAttention()) {
            String a = name + ".attentions.0";
            p.norm(a + ".group_norm", c);
            p.linear(a + ".to_q", c, c);
            p.linear(a + ".to_k", c, c);
            p.linear(a + ".to_v", c, c);
            p.linear(a + ".to_out.0", c, c);
        }
        resnet(p, name + ".resnets.1", c, c);
    }
}
