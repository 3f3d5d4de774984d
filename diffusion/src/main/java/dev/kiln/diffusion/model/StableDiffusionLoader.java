package dev.kiln.diffusion.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Loads a Stable Diffusion 1.x / 2.x model from a diffusers folder ({@code model_index.json}, {@code text_encoder/},
 * {@code unet/}, {@code vae/}, optional {@code tokenizer/} and {@code scheduler/}) or from an original single-file
 * {@code .safetensors} checkpoint, into diffusers-named float32 weight maps.
 *
 * <p>v2 and v-prediction are inferred unless {@link LoadOptions} sets them (sd-scripts' {@code --v2},
 * {@code --v_parameterization}): a folder is v2 when its text encoder is OpenCLIP-style (GELU) and v-prediction when its
 * scheduler says so; a single file is v2 when it holds an OpenCLIP text encoder and, like diffusers'
 * {@code from_single_file}, a v2 file is taken as v-prediction unless its metadata or a {@code v_pred} key says
 * otherwise.
 */
public final class StableDiffusionLoader {

    private static final ObjectMapper JSON = new ObjectMapper();

    private StableDiffusionLoader() {
    }

    /** Loads a folder or single file with inferred settings. */
    public static StableDiffusionModel load(Path path, NDManager manager) {
        return load(path, manager, LoadOptions.defaults());
    }

    public static StableDiffusionModel load(Path path, NDManager manager, LoadOptions options) {
        if (Files.isDirectory(path)) {
            return loadDiffusers(path, manager, options);
        }
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("model " + path + " does not exist");
        }
        if (!path.getFileName().toString().endsWith(".safetensors")) {
            throw new IllegalArgumentException("model " + path + ": only .safetensors checkpoints and diffusers folders "
                    + "are read (pickled .ckpt files can run code; convert them to safetensors first)");
        }
        return loadSingleFile(path, manager, options);
    }

    // ---------------------------------------------------------------- diffusers folder

    private static StableDiffusionModel loadDiffusers(Path folder, NDManager manager, LoadOptions options) {
        for (String part : List.of("text_encoder", "unet", "vae")) {
            if (!Files.isRegularFile(folder.resolve(part).resolve("config.json"))) {
                throw new IllegalArgumentException("diffusers folder " + folder + " has no " + part + "/config.json");
            }
        }
        JsonNode teConfig = readJson(folder.resolve("text_encoder/config.json"));
        JsonNode unetConfig = readJson(folder.resolve("unet/config.json"));
        JsonNode vaeConfig = readJson(folder.resolve("vae/config.json"));
        Map<String, NDArray> te = loadFolderWeights(folder.resolve("text_encoder"), "model.safetensors", manager);
        te.keySet().removeIf(k -> k.endsWith("embeddings.position_ids"));
        Map<String, NDArray> unet = loadFolderWeights(folder.resolve("unet"), "diffusion_pytorch_model.safetensors",
                manager);
        Map<String, NDArray> vae = loadFolderWeights(folder.resolve("vae"), "diffusion_pytorch_model.safetensors",
                manager);
        JsonNode scheduler = optionalJson(folder.resolve("scheduler/scheduler_config.json"));

        boolean v2 = options.v2() != null ? options.v2() : "gelu".equals(teConfig.path("hidden_act").asText());
        boolean vPred = options.vParameterization() != null ? options.vParameterization()
                : scheduler != null && "v_prediction".equals(scheduler.path("prediction_type").asText());
        ClipTokenizer tokenizer = tokenizer(folder.resolve("tokenizer"), v2);
        return new StableDiffusionModel(v2, vPred, tokenizer, teConfig, te, unetConfig, unet, vaeConfig, vae,
                scheduler);
    }

    private static Map<String, NDArray> loadFolderWeights(Path folder, String preferred, NDManager manager) {
        Path file = folder.resolve(preferred);
        if (!Files.isRegularFile(file)) {
            try (Stream<Path> files = Files.list(folder)) {
                List<Path> candidates = files.filter(p -> p.getFileName().toString().endsWith(".safetensors"))
                        .sorted().toList();
                if (candidates.size() != 1) {
                    throw new IllegalArgumentException(folder + ": expected " + preferred
                            + " (or exactly one .safetensors file), found " + candidates);
                }
                file = candidates.get(0);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + folder, e);
            }
        }
        try (SafeTensors st = SafeTensors.open(file)) {
            return st.loadAll(manager);
        }
    }

    // ---------------------------------------------------------------- single file

    private static StableDiffusionModel loadSingleFile(Path file, NDManager manager, LoadOptions options) {
        try (SafeTensors st = SafeTensors.open(file)) {
            Set<String> keys = st.names();
            boolean openClip = keys.stream().anyMatch(k -> k.startsWith(CheckpointKeys.OPENCLIP_TEXT_PREFIX));
            boolean sd1Text = keys.stream().anyMatch(k -> k.startsWith(CheckpointKeys.SD1_TEXT_PREFIX));
            if (!openClip && !sd1Text) {
                throw new IllegalArgumentException(file + ": no text encoder (" + CheckpointKeys.SD1_TEXT_PREFIX
                        + "* or " + CheckpointKeys.OPENCLIP_TEXT_PREFIX + "*): not a Stable Diffusion 1.x/2.x checkpoint");
            }
            boolean v2 = options.v2() != null ? options.v2() : openClip;
            Path configs = options.configFolder();

            Map<String, NDArray> te = convert(st, openClip ? CheckpointKeys.openClipTextEncoder(keys)
                    : CheckpointKeys.sd1TextEncoder(keys), manager, file);
            Map<String, NDArray> unet = convert(st, CheckpointKeys.unet(keys), manager, file);
            Map<String, NDArray> vae = convert(st, CheckpointKeys.vae(keys), manager, file);
            if (unet.isEmpty() || vae.isEmpty()) {
                throw new IllegalArgumentException(file + ": no " + (unet.isEmpty() ? "UNet (model.diffusion_model.*)"
                        : "VAE (first_stage_model.*)") + " tensors");
            }

            JsonNode teConfig = configs != null ? readJson(configs.resolve("text_encoder/config.json"))
                    : ConfigDerivation.textEncoder(te, openClip);
            JsonNode unetConfig = configs != null ? readJson(configs.resolve("unet/config.json"))
                    : ConfigDerivation.unet(unet, v2);
            JsonNode vaeConfig = configs != null ? readJson(configs.resolve("vae/config.json"))
                    : ConfigDerivation.vae(vae);
            matchProjectionShapes(unet, unetConfig.path("use_linear_projection").asBoolean(false));
            JsonNode scheduler = configs != null ? optionalJson(configs.resolve("scheduler/scheduler_config.json")) : null;

            boolean vPred = options.vParameterization() != null ? options.vParameterization()
                    : inferVPrediction(st, scheduler, v2);
            ClipTokenizer tokenizer = tokenizer(configs != null ? configs.resolve("tokenizer") : null, v2);
            return new StableDiffusionModel(v2, vPred, tokenizer, teConfig, te, unetConfig, unet, vaeConfig, vae,
                    scheduler);
        }
    }

    private static boolean inferVPrediction(SafeTensors st, JsonNode scheduler, boolean v2) {
        String declared = st.metadata().get("modelspec.prediction_type");
        if (declared != null) {
            return declared.equals("v") || declared.equals("v_prediction");
        }
        if (st.contains("v_pred")) {
            return true;
        }
        if (scheduler != null && scheduler.has("prediction_type")) {
            return "v_prediction".equals(scheduler.path("prediction_type").asText());
        }
        return v2;
    }

    /** Loads the tensors a conversion plan names, applying each entry's transform. */
    private static Map<String, NDArray> convert(SafeTensors st, List<CheckpointKeys.Entry> plan, NDManager manager,
                                                Path file) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (CheckpointKeys.Entry e : plan) {
            NDArray source = st.load(e.source(), manager);
            NDArray target = switch (e.transform()) {
                case COPY -> source;
                case SQUEEZE_1X1 -> {
                    long[] s = source.getShape().getShape();
                    if (s.length == 2) {
                        yield source; // some converters already store these as linear weights
                    }
                    if (s.length != 4 || s[2] != 1 || s[3] != 1) {
                        throw new IllegalArgumentException(file + ": tensor \"" + e.source()
                                + "\" should be a 1x1 convolution, has shape " + Arrays.toString(s));
                    }
                    yield reshapedCopy(source, s[0], s[1]);
                }
                case THIRD_0, THIRD_1, THIRD_2 -> {
                    long rows = source.getShape().get(0);
                    if (rows % 3 != 0) {
                        throw new IllegalArgumentException(file + ": tensor \"" + e.source() + "\" has " + rows
                                + " rows, not a multiple of 3 (q, k, v)");
                    }
                    long third = rows / 3;
                    long start = third * (e.transform().ordinal() - CheckpointKeys.Transform.THIRD_0.ordinal());
                    try (NDArray slice = source.get(new NDIndex("{}:{}", start, start + third))) {
                        NDArray part = slice.duplicate();
                        source.close();
                        yield part;
                    }
                }
            };
            if (out.put(e.target(), target) != null) {
                throw new IllegalArgumentException(file + ": two tensors map to \"" + e.target() + "\"");
            }
        }
        return out;
    }

    /** diffusers stores proj_in/proj_out as 1×1 convs or as linears depending on use_linear_projection. */
    private static void matchProjectionShapes(Map<String, NDArray> unet, boolean linear) {
        for (Map.Entry<String, NDArray> e : unet.entrySet()) {
            String k = e.getKey();
            if (!(k.endsWith("proj_in.weight") || k.endsWith("proj_out.weight"))) {
                continue;
            }
            long[] s = e.getValue().getShape().getShape();
            if (linear && s.length == 4) {
                e.setValue(reshapedCopy(e.getValue(), s[0], s[1]));
            } else if (!linear && s.length == 2) {
                e.setValue(reshapedCopy(e.getValue(), s[0], s[1], 1, 1));
            }
        }
    }

    /** A reshaped copy; the original is closed (a mere view would share its memory). */
    private static NDArray reshapedCopy(NDArray source, long... shape) {
        try (NDArray view = source.reshape(shape)) {
            NDArray copy = view.duplicate();
            source.close();
            return copy;
        }
    }

    // ---------------------------------------------------------------- shared

    private static ClipTokenizer tokenizer(Path folder, boolean v2) {
        if (folder != null && Files.isDirectory(folder)) {
            return ClipTokenizer.fromFolder(folder);
        }
        return v2 ? ClipTokenizer.sd2() : ClipTokenizer.sd1();
    }

    static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("missing config file " + file);
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode optionalJson(Path file) {
        return Files.isRegularFile(file) ? readJson(file) : null;
    }

    /**
     * Architecture of a single-file checkpoint from its tensor shapes, as diffusers' / sd-scripts' conversions build
     * it; what shapes cannot show follows the Stable Diffusion defaults (heads: 8 per block for v1, 64-wide for v2;
     * CLIP heads 64-wide).
     */
    static final class ConfigDerivation {

        private ConfigDerivation() {
        }

        static ObjectNode textEncoder(Map<String, NDArray> w, boolean openClip) {
            long[] tokens = shape(w, "text_model.embeddings.token_embedding.weight");
            long[] positions = shape(w, "text_model.embeddings.position_embedding.weight");
            long[] fc1 = shape(w, "text_model.encoder.layers.0.mlp.fc1.weight");
            int layers = countIndices(w.keySet(), "text_model.encoder.layers.");
            ObjectNode c = JSON.createObjectNode();
            c.putArray("architectures").add("CLIPTextModel");
            c.put("vocab_size", tokens[0]);
            c.put("hidden_size", tokens[1]);
            c.put("intermediate_size", fc1[0]);
            c.put("num_hidden_layers", layers);
            c.put("num_attention_heads", Math.max(1, tokens[1] / 64));
            c.put("max_position_embeddings", positions[0]);
            c.put("hidden_act", openClip ? "gelu" : "quick_gelu");
            c.put("layer_norm_eps", 1e-5);
            // transformers' CLIP configs of the SD checkpoints: legacy ids, pooled output at argmax(input_ids)
            c.put("bos_token_id", 0);
            c.put("eos_token_id", 2);
            c.put("pad_token_id", 1);
            return c;
        }

        static ObjectNode unet(Map<String, NDArray> w, boolean v2) {
            int blocks = countIndices(w.keySet(), "down_blocks.");
            ObjectNode c = JSON.createObjectNode();
            c.put("_class_name", "UNet2DConditionModel");
            long[] convIn = shape(w, "conv_in.weight");
            c.put("in_channels", convIn[1]);
            c.put("out_channels", shape(w, "conv_out.weight")[0]);
            c.put("conv_in_kernel", convIn[2]);
            c.put("conv_out_kernel", shape(w, "conv_out.weight")[2]);
            ArrayNode channels = c.putArray("block_out_channels");
            ArrayNode down = c.putArray("down_block_types");
            ArrayNode up = c.putArray("up_block_types");
            ArrayNode heads = c.putArray("attention_head_dim");
            for (int i = 0; i < blocks; i++) {
                long ch = shape(w, "down_blocks." + i + ".resnets.0.conv1.weight")[0];
                channels.add(ch);
                heads.add(v2 ? Math.max(1, ch / 64) : 8);
                down.add(hasPrefix(w, "down_blocks." + i + ".attentions.") ? "CrossAttnDownBlock2D" : "DownBlock2D");
                up.add(hasPrefix(w, "up_blocks." + i + ".attentions.") ? "CrossAttnUpBlock2D" : "UpBlock2D");
            }
            c.put("layers_per_block", countIndices(w.keySet(), "down_blocks.0.resnets."));
            c.put("mid_block_type", "UNetMidBlock2DCrossAttn");
            String crossKey = w.keySet().stream().filter(k -> k.endsWith("attn2.to_k.weight")).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("UNet has no cross-attention (attn2.to_k.weight)"));
            c.put("cross_attention_dim", shape(w, crossKey)[1]);
            String projIn = w.keySet().stream().filter(k -> k.endsWith("proj_in.weight")).findFirst().orElseThrow();
            c.put("use_linear_projection", shape(w, projIn).length == 2);
            String attention = projIn.substring(0, projIn.length() - "proj_in.weight".length());
            c.put("transformer_layers_per_block", countIndices(w.keySet(), attention + "transformer_blocks."));
            c.put("upcast_attention", v2);
            c.put("norm_num_groups", 32);
            c.put("sample_size", v2 ? 96 : 64);
            return c;
        }

        static ObjectNode vae(Map<String, NDArray> w) {
            int blocks = countIndices(w.keySet(), "encoder.down_blocks.");
            ObjectNode c = JSON.createObjectNode();
            c.put("_class_name", "AutoencoderKL");
            c.put("in_channels", shape(w, "encoder.conv_in.weight")[1]);
            c.put("out_channels", shape(w, "decoder.conv_out.weight")[0]);
            c.put("latent_channels", shape(w, "decoder.conv_in.weight")[1]);
            ArrayNode channels = c.putArray("block_out_channels");
            ArrayNode down = c.putArray("down_block_types");
            ArrayNode up = c.putArray("up_block_types");
            for (int i = 0; i < blocks; i++) {
                channels.add(shape(w, "encoder.down_blocks." + i + ".resnets.0.conv1.weight")[0]);
                down.add("DownEncoderBlock2D");
                up.add("UpDecoderBlock2D");
            }
            c.put("layers_per_block", countIndices(w.keySet(), "encoder.down_blocks.0.resnets."));
            c.put("norm_num_groups", 32);
            c.put("scaling_factor", 0.18215);
            return c;
        }

        private static long[] shape(Map<String, NDArray> w, String key) {
            NDArray a = w.get(key);
            if (a == null) {
                throw new IllegalArgumentException("checkpoint lacks tensor \"" + key + "\" (diffusers name)");
            }
            return a.getShape().getShape();
        }

        private static boolean hasPrefix(Map<String, NDArray> w, String prefix) {
            return w.keySet().stream().anyMatch(k -> k.startsWith(prefix));
        }

        /** Number of distinct N in keys {@code prefix + N + ".…"}. */
        private static int countIndices(Set<String> keys, String prefix) {
            Set<Integer> seen = new TreeSet<>();
            for (String k : keys) {
                if (k.startsWith(prefix)) {
                    String rest = k.substring(prefix.length());
                    int dot = rest.indexOf('.');
                    if (dot > 0 && rest.substring(0, dot).chars().allMatch(Character::isDigit)) {
                        seen.add(Integer.parseInt(rest.substring(0, dot)));
                    }
                }
            }
            return seen.size();
        }
    }
}
