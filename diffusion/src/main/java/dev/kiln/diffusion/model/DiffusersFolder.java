package dev.kiln.diffusion.model;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.diffusion.safetensors.DType;
import dev.kiln.diffusion.safetensors.SafeTensorsWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes a model as a diffusers folder ({@code model_index.json}, {@code text_encoder/}, {@code unet/},
 * {@code vae/}, {@code scheduler/}) with the file names diffusers and transformers use, which
 * {@link StableDiffusionLoader} and diffusers' {@code from_pretrained} read. The tokenizer is not written: a folder
 * without {@code tokenizer/} gets CLIP's; callers add one for another vocabulary.
 */
public final class DiffusersFolder {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private DiffusersFolder() {
    }

    /** Writes {@code model} below {@code folder} with float weights in {@code dtype}; returns {@code folder}. */
    public static Path write(StableDiffusionModel model, Path folder, DType dtype) {
        try {
            ObjectNode index = JsonNodeFactory.instance.objectNode();
            index.put("_class_name", "StableDiffusionPipeline");
            index.putArray("text_encoder").add("transformers").add("CLIPTextModel");
            index.putArray("unet").add("diffusers").add("UNet2DConditionModel");
            index.putArray("vae").add("diffusers").add("AutoencoderKL");
            index.putArray("scheduler").add("diffusers").add("DDIMScheduler");
            writeJson(folder.resolve("model_index.json"), index);
            part(folder.resolve("text_encoder"), model.textEncoderConfigJson(), model.textEncoderWeights(),
                    "model.safetensors", dtype);
            part(folder.resolve("unet"), model.unetConfigJson(), model.unetWeights(),
                    "diffusion_pytorch_model.safetensors", dtype);
            part(folder.resolve("vae"), model.vaeConfigJson(), model.vaeWeights(),
                    "diffusion_pytorch_model.safetensors", dtype);
            if (model.schedulerConfig() != null) {
                writeJson(folder.resolve("scheduler/scheduler_config.json"), model.schedulerConfig());
            }
            return folder;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a diffusers folder to " + folder + ": " + e.getMessage(), e);
        }
    }

    private static void part(Path dir, JsonNode config, Map<String, NDArray> weights, String file, DType dtype)
            throws IOException {
        writeJson(dir.resolve("config.json"), config);
        SafeTensorsWriter writer = new SafeTensorsWriter().metadata("format", "pt");
        weights.forEach((name, array) -> writer.add(name, array, array.getDataType().isFloating() ? dtype : DType.I64));
        writer.write(dir.resolve(file));
    }

    private static void writeJson(Path file, JsonNode json) throws IOException {
        Files.createDirectories(file.getParent());
        JSON.writeValue(file.toFile(), json);
    }
}
