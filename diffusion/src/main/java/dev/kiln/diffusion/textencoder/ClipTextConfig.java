package dev.kiln.diffusion.textencoder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.diffusion.nn.ConfigFields;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Architecture of a transformers {@code CLIPTextModel} ({@code text_encoder/config.json}); absent fields take
 * transformers' {@code CLIPTextConfig} defaults.
 */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                             int numAttentionHeads, int maxPositionEmbeddings, String hiddenAct,
                             float layerNormEps, int bosTokenId, int eosTokenId, int padTokenId) {

    public ClipTextConfig {
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not divisible by "
                    + numAttentionHeads + " attention heads");
        }
        if (!hiddenAct.equals("quick_gelu") && !hiddenAct.equals("gelu")) {
            throw new IllegalArgumentException("unsupported CLIP hidden_act '" + hiddenAct + "'");
        }
    }

    /** Reads a {@code config.json}. */
    public static ClipTextConfig read(Path configJson) {
        try {
            return fromJson(new ObjectMapper().readTree(configJson.toFile()), configJson.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read text encoder config " + configJson, e);
        }
    }

    /** Parses a CLIPTextModel config; {@code source} names it in error messages. */
    public static ClipTextConfig fromJson(JsonNode json, String source) {
        ConfigFields r = new ConfigFields(json, source);
        // a CLIPModel config nests the text part
        if (json.has("text_config") && !json.has("hidden_size")) {
            return fromJson(json.get("text_config"), source + " text_config");
        }
        String act = r.string("hidden_act", "quick_gelu");
        if (!"quick_gelu".equals(act) && !"gelu".equals(act)) {
            throw r.error("hidden_act", "unsupported activation '" + act + "' (quick_gelu or gelu)");
        }
        int hidden = r.integer("hidden_size", 512);
        int heads = r.integer("num_attention_heads", 8);
        if (heads == 0 || hidden % heads != 0) {
            throw r.error("num_attention_heads", heads + " does not divide hidden_size " + hidden);
        }
        return new ClipTextConfig(r.integer("vocab_size", 49408), hidden, r.integer("intermediate_size", 2048),
                r.integer("num_hidden_layers", 12), heads, r.integer("max_position_embeddings", 77), act,
                (float) r.number("layer_norm_eps", 1e-5), r.integer("bos_token_id", 49406),
                r.integer("eos_token_id", 49407), r.integer("pad_token_id", 1));
    }

    /** openai/clip-vit-large-patch14's text model, the SD 1.x text encoder. */
    public static ClipTextConfig stableDiffusion1() {
        return new ClipTextConfig(49408, 768, 3072, 12, 12, 77, "quick_gelu", 1e-5f, 0, 2, 1);
    }

    /** This config as a transformers {@code config.json}. */
    public com.fasterxml.jackson.databind.node.ObjectNode toJson() {
        com.fasterxml.jackson.databind.node.ObjectNode json =
                com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        json.put("vocab_size", vocabSize).put("hidden_size", hiddenSize).put("intermediate_size", intermediateSize)
                .put("num_hidden_layers", numHiddenLayers).put("num_attention_heads", numAttentionHeads)
                .put("max_position_embeddings", maxPositionEmbeddings).put("hidden_act", hiddenAct)
                .put("layer_norm_eps", layerNormEps).put("bos_token_id", bosTokenId).put("eos_token_id", eosTokenId)
                .put("pad_token_id", padTokenId);
        return json;
    }

    /** The parameter names and shapes of a transformers {@code CLIPTextModel} with this config. */
    public dev.kiln.diffusion.nn.ParameterShapes parameterShapes() {
        dev.kiln.diffusion.nn.ParameterShapes p = new dev.kiln.diffusion.nn.ParameterShapes("text encoder");
        p.put("text_model.embeddings.token_embedding.weight", vocabSize, hiddenSize);
        p.put("text_model.embeddings.position_embedding.weight", maxPositionEmbeddings, hiddenSize);
        for (int i = 0; i < numHiddenLayers; i++) {
            String layer = "text_model.encoder.layers." + i;
            for (String proj : java.util.List.of("q_proj", "k_proj", "v_proj", "out_proj")) {
                p.linear(layer + ".self_attn." + proj, hiddenSize, hiddenSize);
            }
            p.norm(layer + ".layer_norm1", hiddenSize);
            p.norm(layer + ".layer_norm2", hiddenSize);
            p.linear(layer + ".mlp.fc1", hiddenSize, intermediateSize);
            p.linear(layer + ".mlp.fc2", intermediateSize, hiddenSize);
        }
        p.norm("text_model.final_layer_norm", hiddenSize);
        return p;
    }

    /** OpenCLIP ViT-H/14's text model as SD 2.x uses it (23 of its 24 layers, as diffusers' conversion keeps). */
    public static ClipTextConfig stableDiffusion2() {
        return new ClipTextConfig(49408, 1024, 4096, 23, 16, 77, "gelu", 1e-5f, 0, 2, 1);
    }
}
