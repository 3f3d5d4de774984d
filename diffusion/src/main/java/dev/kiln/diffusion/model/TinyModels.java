package dev.kiln.diffusion.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.diffusion.bench.LetterTokenizer;
import dev.kiln.diffusion.safetensors.DType;
import dev.kiln.diffusion.textencoder.ClipTextConfig;
import dev.kiln.diffusion.unet.UNetConfig;
import dev.kiln.diffusion.unet.UNetParameters;
import dev.kiln.diffusion.vae.VaeConfig;
import dev.kiln.diffusion.vae.VaeParameters;

import java.nio.file.Path;

/**
 * A tiny, randomly initialised Stable Diffusion 1.x model (about 0.7 M parameters, the shapes of the golden
 * tiny-sd15: CLIP with 3 layers of width 32 and a 1000-word vocabulary, a two-level UNet of 32/64 channels, a VAE that
 * downsamples by 2). It trains in seconds on a CPU, which is all the demo and the end-to-end tests need; its images are
 * noise-like, not photographs.
 */
public final class TinyModels {

    private TinyModels() {
    }

    /** The tiny SD1 model with weights drawn from {@code seed}; no tokenizer (the folder gets one). */
    private static StableDiffusionModel randomSd1(long seed, NDManager manager) {
        Engine.getInstance().setRandomSeed((int) seed);
        ClipTextConfig te = new ClipTextConfig(1000, 32, 37, 3, 4, 77, "quick_gelu", 1e-5f, 998, 999, 999);
        ObjectNode unetJson = JsonNodeFactory.instance.objectNode();
        unetJson.putArray("block_out_channels").add(32).add(64);
        unetJson.putArray("down_block_types").add("CrossAttnDownBlock2D").add("DownBlock2D");
        unetJson.putArray("up_block_types").add("UpBlock2D").add("CrossAttnUpBlock2D");
        unetJson.put("attention_head_dim", 8).put("cross_attention_dim", 32).put("layers_per_block", 2)
                .put("sample_size", 8).put("norm_num_groups", 32);
        ObjectNode vaeJson = JsonNodeFactory.instance.objectNode();
        vaeJson.putArray("block_out_channels").add(32).add(64);
        vaeJson.putArray("down_block_types").add("DownEncoderBlock2D").add("DownEncoderBlock2D");
        vaeJson.putArray("up_block_types").add("UpDecoderBlock2D").add("UpDecoderBlock2D");
        vaeJson.put("in_channels", 3).put("out_channels", 3).put("latent_channels", 4).put("layers_per_block", 1)
                .put("norm_num_groups", 32).put("sample_size", 16).put("scaling_factor", 0.18215);
        // SD 1.x's training schedule (runwayml/stable-diffusion-v1-5 scheduler_config.json)
        ObjectNode scheduler = JsonNodeFactory.instance.objectNode();
        scheduler.put("_class_name", "DDIMScheduler").put("beta_start", 0.00085).put("beta_end", 0.012)
                .put("beta_schedule", "scaled_linear").put("num_train_timesteps", 1000)
                .put("prediction_type", "epsilon").put("clip_sample", false).put("set_alpha_to_one", false)
                .put("steps_offset", 1).put("timestep_spacing", "leading");
        UNetConfig unet = UNetConfig.fromJson(unetJson, "tiny UNet config");
        VaeConfig vae = VaeConfig.fromJson(vaeJson, "tiny VAE config");
        return new StableDiffusionModel(false, false, null, te.toJson(), te.parameterShapes().random(manager),
                unetJson, UNetParameters.random(unet, manager), vaeJson, VaeParameters.of(vae).random(manager),
                scheduler);
    }

    /**
     * Writes {@link #randomSd1} as a diffusers folder (float16 weights) with the
     * {@link LetterTokenizer#writeSpelling} vocabulary (any lowercase text encodes) in {@code tokenizer/}, which
     * {@link StableDiffusionLoader} picks up; returns {@code folder}.
     */
    public static Path writeRandomSd1(Path folder, long seed) {
        try (NDManager manager = NDManager.newBaseManager()) {
            DiffusersWriter.write(randomSd1(seed, manager), folder, DType.F16, null);
        }
        LetterTokenizer.writeSpelling(folder.resolve("tokenizer"));
        return folder;
    }
}
