package dev.kiln.diffusion.model;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.diffusion.safetensors.DType;
import dev.kiln.diffusion.safetensors.SafeTensorsWriter;
import dev.kiln.diffusion.train.TrainingState;
import org.apache.commons.io.file.PathUtils;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * Writes a model as a diffusers folder ({@code model_index.json}, {@code text_encoder/}, {@code unet/}, {@code vae/},
 * {@code scheduler/}, and {@code tokenizer/} copied from the base model's folder when it has one), as sd-scripts'
 * {@code save_diffusers_checkpoint}; weights always as safetensors. The folder appears complete or not at all.
 */
public final class DiffusersWriter {

    private static final ObjectMapper JSON = new ObjectMapper();

    private DiffusersWriter() {
    }

    /**
     * @param tokenizerFolder a tokenizer folder to copy (the base model's {@code tokenizer/}), or null
     */
    public static Path write(StableDiffusionModel model, Path folder, DType dtype, Path tokenizerFolder) {
        Path absolute = folder.toAbsolutePath();
        Path partial = absolute.resolveSibling(absolute.getFileName() + ".partial");
        try {
            TrainingState.deleteTree(partial);
            Files.createDirectories(partial);
            part(partial.resolve("text_encoder"), model.textEncoderConfigJson(), model.textEncoderWeights(),
                    "model.safetensors", dtype);
            part(partial.resolve("unet"), model.unetConfigJson(), model.unetWeights(),
                    "diffusion_pytorch_model.safetensors", dtype);
            part(partial.resolve("vae"), model.vaeConfigJson(), model.vaeWeights(),
                    "diffusion_pytorch_model.safetensors", dtype);
            Files.createDirectories(partial.resolve("scheduler"));
            JSON.writerWithDefaultPrettyPrinter().writeValue(partial.resolve("scheduler/scheduler_config.json").toFile(),
                    model.schedulerConfig() != null ? model.schedulerConfig() : schedulerConfig(model));
            if (tokenizerFolder != null && Files.isDirectory(tokenizerFolder)) {
                PathUtils.copyDirectory(tokenizerFolder, partial.resolve("tokenizer"));
            }
            ObjectNode index = JSON.createObjectNode();
            index.put("_class_name", "StableDiffusionPipeline");
            index.putArray("text_encoder").add("transformers").add("CLIPTextModel");
            index.putArray("unet").add("diffusers").add("UNet2DConditionModel");
            index.putArray("vae").add("diffusers").add("AutoencoderKL");
            index.putArray("scheduler").add("diffusers").add("DDIMScheduler");
            index.putArray("tokenizer").add("transformers").add("CLIPTokenizer");
            JSON.writerWithDefaultPrettyPrinter().writeValue(partial.resolve("model_index.json").toFile(), index);
            TrainingState.deleteTree(absolute);
            Files.move(partial, absolute, StandardCopyOption.ATOMIC_MOVE);
            return absolute;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write diffusers folder " + folder + ": " + e.getMessage(), e);
        }
    }

    private static void part(Path dir, JsonNode config, Map<String, NDArray> weights, String file, DType dtype)
            throws IOException {
        Files.createDirectories(dir);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), config);
        SafeTensorsWriter writer = new SafeTensorsWriter().metadata("format", "pt");
        weights.forEach((k, v) -> writer.add(k, v, dtype));
        writer.write(dir.resolve(file));
    }

    /** The Stable Diffusion training schedule as a DDIM config (what sd-scripts' reference pipelines ship). */
    private static ObjectNode schedulerConfig(StableDiffusionModel model) {
        ObjectNode c = JSON.createObjectNode();
        c.put("_class_name", "DDIMScheduler");
        c.put("beta_start", 0.00085);
        c.put("beta_end", 0.012);
        c.put("beta_schedule", "scaled_linear");
        c.put("num_train_timesteps", 1000);
        c.put("clip_sample", false);
        c.put("set_alpha_to_one", false);
        c.put("steps_offset", 1);
        c.put("prediction_type", model.predictionType());
        return c;
    }

}
