package dev.kiln.diffusion.unet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.diffusion.nn.ConfigFields;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The parts of a diffusers {@code UNet2DConditionModel} config.json that shape the network, with diffusers'
 * defaults and per-block expansion of scalar-or-list fields. Head counts follow diffusers:
 * {@code num_attention_heads} if set, else {@code attention_head_dim} (which is a head COUNT in SD configs).
 *
 * @param blockOutChannels          channels per down block
 * @param layersPerBlock            resnets per down block (up blocks get one more)
 * @param heads                     attention heads per down block (mid uses the last, up blocks the reverse)
 * @param crossAttentionDim         encoder_hidden_states width per down block
 * @param transformerLayersPerBlock transformer blocks per attention, per down block
 * @param onlyCrossAttention        per down block: attn1 attends to the encoder states too
 * @param midBlockType              {@code UNetMidBlock2DCrossAttn} or {@code null} (no mid block)
 */
public record UNetConfig(
        int inChannels,
        int outChannels,
        boolean centerInputSample,
        boolean flipSinToCos,
        float freqShift,
        List<String> downBlockTypes,
        List<String> upBlockTypes,
        String midBlockType,
        int[] blockOutChannels,
        int[] layersPerBlock,
        int[] heads,
        int[] crossAttentionDim,
        int[] transformerLayersPerBlock,
        boolean[] onlyCrossAttention,
        int downsamplePadding,
        float midBlockScaleFactor,
        int normNumGroups,
        float normEps,
        boolean useLinearProjection,
        boolean upcastAttention,
        float resnetOutScaleFactor,
        int timeEmbeddingDim,
        int convInKernel,
        int convOutKernel,
        String actFn) {

    /** Number of down (and up) blocks. */
    public int blockCount() {
        return blockOutChannels.length;
    }

    /** Reads {@code config.json} of a diffusers {@code unet/} folder. */
    public static UNetConfig read(Path configJson) {
        try {
            return fromJson(new ObjectMapper().readTree(configJson.toFile()), configJson.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read UNet config " + configJson, e);
        }
    }

    /** Parses a diffusers UNet2DConditionModel config; {@code source} names it in error messages. */
    public static UNetConfig fromJson(JsonNode json, String source) {
        ConfigFields r = new ConfigFields(json, source);
        List<String> down = r.strings("down_block_types");
        List<String> up = r.strings("up_block_types");
        int n = down.size();
        if (up.size() != n) {
            throw r.error("up_block_types", "has " + up.size() + " entries, down_block_types has " + n);
        }
        int[] channels = r.perBlock("block_out_channels", n, null);
        for (String t : down) {
            if (!t.equals("CrossAttnDownBlock2D") && !t.equals("DownBlock2D")) {
                throw r.error("down_block_types", "unsupported block type '" + t + "'");
            }
        }
        for (String t : up) {
            if (!t.equals("CrossAttnUpBlock2D") && !t.equals("UpBlock2D")) {
                throw r.error("up_block_types", "unsupported block type '" + t + "'");
            }
        }
        String mid = r.string("mid_block_type", "UNetMidBlock2DCrossAttn");
        if (mid != null && !mid.equals("UNetMidBlock2DCrossAttn")) {
            throw r.error("mid_block_type", "unsupported block type '" + mid + "'");
        }
        // Features of other model families (SDXL add-embeddings, class labels, ...) are refused, not ignored.
        r.requireAbsent("class_embed_type");
        r.requireAbsent("addition_embed_type");
        r.requireAbsent("encoder_hid_dim_type");
        r.requireAbsent("encoder_hid_dim");
        r.requireAbsent("cross_attention_norm");
        r.requireAbsent("time_cond_proj_dim");
        r.requireAbsent("timestep_post_act");
        r.requireAbsent("time_embedding_act_fn");
        r.requireAbsent("num_class_embeds");
        r.requireAbsent("reverse_transformer_layers_per_block");
        r.requireValue("time_embedding_type", "positional");
        r.requireValue("resnet_time_scale_shift", "default");
        r.requireValue("attention_type", "default");
        if (r.bool("dual_cross_attention", false)) {
            throw r.error("dual_cross_attention", "is not supported");
        }
        if (r.bool("resnet_skip_time_act", false)) {
            throw r.error("resnet_skip_time_act", "is not supported");
        }
        String headsKey = r.has("num_attention_heads") ? "num_attention_heads" : "attention_head_dim";
        int[] heads = r.perBlock(headsKey, n, 8);
        int[] layers = r.perBlock("layers_per_block", n, 2);
        int[] crossDim = r.perBlock("cross_attention_dim", n, 1280);
        int[] transformerLayers = r.perBlock("transformer_layers_per_block", n, 1);
        boolean[] onlyCross = r.boolPerBlock("only_cross_attention", n);
        for (int i = 0; i < n; i++) {
            if (channels[i] % heads[i] != 0) {
                throw r.error(headsKey, "block " + i + ": " + channels[i] + " channels are not divisible by "
                        + heads[i] + " heads");
            }
        }
        String actFn = r.string("act_fn", "silu");
        if (!actFn.equals("silu") && !actFn.equals("swish")) {
            throw r.error("act_fn", "unsupported activation '" + actFn + "'");
        }
        int timeDim = r.has("time_embedding_dim") ? r.integer("time_embedding_dim", 0) : channels[0] * 4;
        return new UNetConfig(
                r.integer("in_channels", 4), r.integer("out_channels", 4),
                r.bool("center_input_sample", false), r.bool("flip_sin_to_cos", true),
                (float) r.number("freq_shift", 0),
                down, up, mid, channels, layers, heads, crossDim, transformerLayers, onlyCross,
                r.integer("downsample_padding", 1), (float) r.number("mid_block_scale_factor", 1),
                r.integer("norm_num_groups", 32), (float) r.number("norm_eps", 1e-5),
                r.bool("use_linear_projection", false), r.bool("upcast_attention", false),
                (float) r.number("resnet_out_scale_factor", 1), timeDim,
                r.integer("conv_in_kernel", 3), r.integer("conv_out_kernel", 3), actFn);
    }

    /** The SD 1.x UNet architecture (860 M parameters), as in runwayml/stable-diffusion-v1-5's config. */
    public static UNetConfig stableDiffusion15() {
        return fromJson(stableDiffusion15Json(), "built-in SD1.5 UNet config");
    }

    /** {@link #stableDiffusion15()} as a diffusers {@code config.json}. */
    public static ObjectNode stableDiffusion15Json() {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        json.putArray("block_out_channels").add(320).add(640).add(1280).add(1280);
        json.putArray("down_block_types").add("CrossAttnDownBlock2D").add("CrossAttnDownBlock2D")
                .add("CrossAttnDownBlock2D").add("DownBlock2D");
        json.putArray("up_block_types").add("UpBlock2D").add("CrossAttnUpBlock2D").add("CrossAttnUpBlock2D")
                .add("CrossAttnUpBlock2D");
        json.put("attention_head_dim", 8);
        json.put("cross_attention_dim", 768);
        json.put("layers_per_block", 2);
        return json;
    }
}
