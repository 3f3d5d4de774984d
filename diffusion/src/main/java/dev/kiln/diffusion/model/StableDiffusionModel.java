package dev.kiln.diffusion.model;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.textencoder.ClipTextConfig;
import dev.kiln.diffusion.textencoder.ClipTextModel;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import dev.kiln.diffusion.unet.UNet2DConditionModel;
import dev.kiln.diffusion.unet.UNetConfig;
import dev.kiln.diffusion.vae.AutoencoderKL;
import dev.kiln.diffusion.vae.VaeConfig;
import java.util.Map;

/**
 * A loaded Stable Diffusion 1.x / 2.x model: configs and float32 weight maps (diffusers / transformers names) of the
 * text encoder, UNet and VAE, the tokenizer, and the v2 / v-prediction choice. The weights belong to the manager
 * given to the loader.
 *
 * @param textEncoderConfigJson the text encoder's config as read or derived (diffusers {@code config.json} shape)
 * @param unetConfigJson        likewise for the UNet
 * @param vaeConfigJson         likewise for the VAE
 * @param schedulerConfig       the diffusers {@code scheduler_config.json}, or null (single-file checkpoints)
 */
public record StableDiffusionModel(
        boolean v2,
        boolean vParameterization,
        ClipTokenizer tokenizer,
        JsonNode textEncoderConfigJson,
        Map<String, NDArray> textEncoderWeights,
        JsonNode unetConfigJson,
        Map<String, NDArray> unetWeights,
        JsonNode vaeConfigJson,
        Map<String, NDArray> vaeWeights,
        JsonNode schedulerConfig) {

    public ClipTextConfig textEncoderConfig() {
        return ClipTextConfig.fromJson(textEncoderConfigJson, "text encoder config");
    }

    public UNetConfig unetConfig() {
        return UNetConfig.fromJson(unetConfigJson, "UNet config");
    }

    public VaeConfig vaeConfig() {
        return VaeConfig.fromJson(vaeConfigJson, "VAE config");
    }

    public ClipTextModel textEncoder() {
        return new ClipTextModel(textEncoderConfig(), textEncoderWeights);
    }

    public UNet2DConditionModel unet() {
        return new UNet2DConditionModel(unetConfig(), unetWeights);
    }

    public AutoencoderKL vae() {
        return new AutoencoderKL(vaeConfig(), vaeWeights);
    }

    /** {@code "v_prediction"} or {@code "epsilon"}: what the UNet predicts. */
    public String predictionType() {
        return vParameterization ? "v_prediction" : "epsilon";
    }
}
