package dev.kiln.diffusion.vae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.diffusion.nn.ConfigFields;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The parts of a diffusers {@code AutoencoderKL} config.json that shape the network, with diffusers' defaults.
 *
 * @param blockOutChannels channels per encoder down block (the decoder uses them reversed)
 * @param layersPerBlock   resnets per encoder block (decoder blocks get one more)
 * @param scalingFactor    latents for the UNet are {@code sample * scalingFactor}
 */
public record VaeConfig(
        int inChannels,
        int outChannels,
        int latentChannels,
        int[] blockOutChannels,
        int layersPerBlock,
        int normNumGroups,
        float scalingFactor,
        boolean useQuantConv,
        boolean usePostQuantConv,
        boolean midBlockAttention) {

    /** Encoder/decoder resnets and the mid-block attention all use this GroupNorm epsilon. */
    public static final float NORM_EPS = 1e-6f;

    /** Reads {@code config.json} of a diffusers {@code vae/} folder. */
    public static VaeConfig read(Path configJson) {
        try {
            return fromJson(new ObjectMapper().readTree(configJson.toFile()), configJson.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read VAE config " + configJson, e);
        }
    }

    /** Parses a diffusers AutoencoderKL config; {@code source} names it in error messages. */
    public static VaeConfig fromJson(JsonNode json, String source) {
        ConfigFields f = new ConfigFields(json, source);
        List<String> down = f.has("down_block_types") ? f.strings("down_block_types") : List.of("DownEncoderBlock2D");
        List<String> up = f.has("up_block_types") ? f.strings("up_block_types") : List.of("UpDecoderBlock2D");
        if (down.size() != up.size()) {
            throw f.error("up_block_types", "has " + up.size() + " entries, down_block_types has " + down.size());
        }
        for (String t : down) {
            if (!t.equals("DownEncoderBlock2D")) {
                throw f.error("down_block_types", "unsupported block type '" + t + "'");
            }
        }
        for (String t : up) {
            if (!t.equals("UpDecoderBlock2D")) {
                throw f.error("up_block_types", "unsupported block type '" + t + "'");
            }
        }
        String act = f.string("act_fn", "silu");
        if (!"silu".equals(act) && !"swish".equals(act)) {
            throw f.error("act_fn", "unsupported activation '" + act + "'");
        }
        f.requireAbsent("shift_factor");
        f.requireAbsent("latents_mean");
        f.requireAbsent("latents_std");
        int[] channels = f.perBlock("block_out_channels", down.size(), 64);
        int groups = f.integer("norm_num_groups", 32);
        for (int c : channels) {
            if (c % groups != 0) {
                throw f.error("norm_num_groups", groups + " groups do not divide " + c + " channels");
            }
        }
        return new VaeConfig(f.integer("in_channels", 3), f.integer("out_channels", 3),
                f.integer("latent_channels", 4), channels, f.integer("layers_per_block", 1), groups,
                (float) f.number("scaling_factor", 0.18215), f.bool("use_quant_conv", true),
                f.bool("use_post_quant_conv", true), f.bool("mid_block_add_attention", true));
    }

    /** Pixel size of one latent cell: 2^(blocks-1). */
    public int downscaleFactor() {
        return 1 << (blockOutChannels.length - 1);
    }
}
