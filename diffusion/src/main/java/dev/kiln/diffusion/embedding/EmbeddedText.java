package dev.kiln.diffusion.embedding;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.diffusion.textencoder.ClipTextConfig;
import dev.kiln.diffusion.textencoder.ClipTextModel;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A text encoder with extra token rows after its vocabulary (transformers' {@code resize_token_embeddings}), and the
 * tokenizer and prompt rewriting that reach them: how Textual Inversion embeddings are trained and used.
 */
public final class EmbeddedText {

    /** The token-embedding weight of a CLIP text encoder. */
    public static final String TOKEN_EMBEDDING = "text_model.embeddings.token_embedding.weight";

    private final JsonNode baseConfig;
    private final Map<String, NDArray> baseWeights;
    private final ClipTokenizer tokenizer;
    private final List<Embedding> embeddings;
    private final int firstId;
    private final int rows;

    /**
     * @param textEncoderConfig the base text encoder's config (its {@code vocab_size} rows come first)
     * @param weights           the base text encoder's weights, never changed
     * @param tokenizer         the base tokenizer; each embedding's tokens are added after the embedding table
     * @throws IllegalArgumentException naming the embedding whose width does not fit or whose token exists
     */
    public EmbeddedText(JsonNode textEncoderConfig, Map<String, NDArray> weights, ClipTokenizer tokenizer,
                        List<Embedding> embeddings) {
        this.baseConfig = textEncoderConfig;
        this.baseWeights = weights;
        this.embeddings = List.copyOf(embeddings);
        ClipTextConfig config = ClipTextConfig.fromJson(textEncoderConfig, "text encoder config");
        this.firstId = config.vocabSize();
        ClipTokenizer extended = tokenizer;
        int next = firstId;
        for (Embedding e : embeddings) {
            if (e.dim() != config.hiddenSize()) {
                throw new IllegalArgumentException("embedding '" + e.token() + "' has vectors of width " + e.dim()
                        + ", the text encoder's is " + config.hiddenSize() + " (an embedding of another model family)");
            }
            extended = extended.withAddedTokens(e.tokens(), next);
            next += e.size();
        }
        this.tokenizer = extended;
        this.rows = next;
    }

    /** The first id after the base vocabulary (the first added token's). */
    public int firstId() {
        return firstId;
    }

    /** Rows of the extended embedding table. */
    public int rows() {
        return rows;
    }

    /** The tokenizer with every embedding's tokens added. */
    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    /** {@code prompt} with each embedding's token replaced by all its tokens (sd-scripts' prompt replacement). */
    public String rewrite(String prompt) {
        if (prompt == null) {
            return null;
        }
        String out = prompt;
        for (Embedding e : embeddings) {
            if (e.size() > 1) {
                out = out.replace(e.token(), e.replacement());
            }
        }
        return out;
    }

    /** The embeddings' vectors under the base table, {@code [rows, dim]} (an array in the scope of the caller). */
    public NDArray extendedTable() {
        NDList parts = new NDList();
        parts.add(baseWeights.get(TOKEN_EMBEDDING));
        for (Embedding e : embeddings) {
            parts.add(e.vectors());
        }
        return NDArrays.concat(parts, 0);
    }

    /** A text encoder reading its token embeddings from {@code table} ({@code [rows, dim]}). */
    public ClipTextModel textEncoder(NDArray table) {
        if (table.getShape().get(0) != rows) {
            throw new IllegalArgumentException("token table of " + table.getShape().get(0) + " rows, expected " + rows);
        }
        ObjectNode config = baseConfig.deepCopy();
        config.put("vocab_size", rows);
        Map<String, NDArray> weights = new LinkedHashMap<>(baseWeights);
        weights.put(TOKEN_EMBEDDING, table);
        return new ClipTextModel(ClipTextConfig.fromJson(config, "text encoder config"), weights);
    }

    /** Every embedding's tokens, in id order. */
    public List<String> addedTokens() {
        List<String> out = new ArrayList<>();
        embeddings.forEach(e -> out.addAll(e.tokens()));
        return out;
    }
}
