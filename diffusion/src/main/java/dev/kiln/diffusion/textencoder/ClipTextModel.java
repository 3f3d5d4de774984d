package dev.kiln.diffusion.textencoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.nn.ActivationListener;
import dev.kiln.diffusion.nn.Activations;
import dev.kiln.diffusion.nn.LayerHook;
import dev.kiln.diffusion.nn.Layers;
import dev.kiln.diffusion.nn.ScalarOps;
import dev.kiln.diffusion.nn.Scopes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * transformers' {@code CLIPTextModel} as Stable Diffusion uses it: token + position embeddings, pre-LayerNorm
 * transformer layers with a causal mask only (no padding mask), {@code final_layer_norm}, pooled output at the EOS
 * position. Weights are float32 keyed by transformers names ({@code text_model.encoder.layers.0.self_attn.q_proj.weight}).
 *
 * <p>{@link #encode} follows sd-scripts: {@code clip_skip} k (kohya/A1111 numbering) gives
 * {@code final_layer_norm(hidden_states[-k])}, and long prompts (several 77-token chunks) are encoded per chunk and
 * re-assembled to {@code 75·n + 2} positions.
 */
public final class ClipTextModel {

    private static final String PREFIX = "text_model.";

    private final ClipTextConfig config;
    private final Layers layers;

    public ClipTextModel(ClipTextConfig config, Map<String, NDArray> weights) {
        this(config, new Layers("CLIP text encoder", weights));
        checkWeights();
    }

    private ClipTextModel(ClipTextConfig config, Layers layers) {
        this.config = Objects.requireNonNull(config);
        this.layers = layers;
    }

    public ClipTextConfig config() {
        return config;
    }

    public Map<String, NDArray> weights() {
        return layers.weights();
    }

    /** A copy whose Linear layers go through {@code hook} (LoRA on the text encoder). */
    public ClipTextModel withLayerHook(LayerHook hook) {
        return new ClipTextModel(config, layers.withHook(hook));
    }

    /** Outputs of one forward pass: hidden states {@code [0]} = embeddings, {@code [i]} = after layer i. */
    public record Output(NDArray lastHiddenState, NDArray pooledOutput, List<NDArray> hiddenStates) {

        /** Every array of this output (the hidden states list may share its last entry with nothing else). */
        public List<NDArray> arrays() {
            List<NDArray> all = new ArrayList<>(hiddenStates);
            all.add(lastHiddenState);
            all.add(pooledOutput);
            return all;
        }
    }

    /** Full forward pass over {@code inputIds [B, L]} (int64, L ≤ max_position_embeddings). */
    public Output forward(NDArray inputIds) {
        return forward(inputIds, config.numHiddenLayers(), ActivationListener.NONE);
    }

    /**
     * Forward pass that stops after {@code layerCount} layers; the last hidden state and pooled output are then
     * {@code final_layer_norm} of that layer's output. The listener sees {@code text_model.embeddings},
     * {@code text_model.encoder.layers.N.self_attn} and {@code ...mlp} outputs (valid only during the call).
     */
    public Output forward(NDArray inputIds, int layerCount, ActivationListener listener) {
        if (layerCount < 0 || layerCount > config.numHiddenLayers()) {
            throw new IllegalArgumentException("layer count " + layerCount + " outside 0.."
                    + config.numHiddenLayers());
        }
        Shape shape = inputIds.getShape();
        if (shape.dimension() != 2) {
            throw new IllegalArgumentException("input ids must be [batch, length], got " + shape);
        }
        long batch = shape.get(0);
        long length = shape.get(1);
        if (length > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("sequence of " + length + " tokens exceeds max_position_embeddings "
                    + config.maxPositionEmbeddings());
        }
        long[] ids = inputIds.getDataType() == DataType.INT64 ? inputIds.toLongArray() : toLongs(inputIds);
        for (long id : ids) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary (vocab_size "
                        + config.vocabSize() + ")");
            }
        }
        NDManager manager = inputIds.getManager();
        Output out;
        // every intermediate dies with this scope; the outputs move to the caller's manager
        try (NDScope scope = new NDScope()) {
            NDArray tokenEmbedding = layers.weight(PREFIX + "embeddings.token_embedding.weight");
            // index and mask live where the weights are (the GPU when the model is there)
            // duplicate(): memory owned by PyTorch, not by a Java buffer that dies with this scope while autograd
            // may still need the indices
            NDArray flat = manager.create(ids).toDevice(tokenEmbedding.getDevice(), false).duplicate();
            NDArray x = tokenEmbedding.get(flat)
                    .reshape(batch, length, config.hiddenSize())
                    .add(layers.weight(PREFIX + "embeddings.position_embedding.weight")
                            .get(new NDIndex("0:{}", length)));
            listener.onActivation(PREFIX + "embeddings", x);
            List<NDArray> hidden = new ArrayList<>();
            hidden.add(x);
            NDArray mask = causalMask(manager, length).toDevice(tokenEmbedding.getDevice(), false).duplicate();
            for (int i = 0; i < layerCount; i++) {
                NDArray input = x;
                String name = PREFIX + "encoder.layers." + i;
                x = Scopes.scoped(() -> encoderLayer(name, input, mask, listener));
                hidden.add(x);
            }
            NDArray last = layers.layerNorm(PREFIX + "final_layer_norm", x, config.layerNormEps());
            out = new Output(last, pooled(last, ids, batch, length), List.copyOf(hidden));
            out.arrays().forEach(a -> {
                NDScope.unregister(a);
                a.attach(manager);
            });
        }
        out.arrays().forEach(NDScope::register);
        return out;
    }

    private static long[] toLongs(NDArray ids) {
        try (NDArray asLong = ids.toType(DataType.INT64, true)) {
            return asLong.toLongArray();
        }
    }

    /**
     * The conditioning sd-scripts feeds the UNet for token ids {@code [B, 77]} or {@code [B, n, 77]} (long prompts):
     * {@code [B, 77, C]}, or {@code [B, 75·n + 2, C]} re-assembled from the chunks.
     *
     * @param clipSkip kohya's {@code --clip_skip}: 1 (or less) = last hidden state, k = final_layer_norm of
     *                 {@code hidden_states[-k]}
     */
    public NDArray encode(NDArray inputIds, int clipSkip) {
        Shape shape = inputIds.getShape();
        if (shape.dimension() == 2) {
            return encodeSequences(inputIds, clipSkip);
        }
        if (shape.dimension() != 3) {
            throw new IllegalArgumentException("input ids must be [B, 77] or [B, chunks, 77], got " + shape);
        }
        long batch = shape.get(0);
        long chunks = shape.get(1);
        long length = shape.get(2);
        return Scopes.scoped(() -> {
            NDArray states = encodeSequences(inputIds.reshape(batch * chunks, length), clipSkip)
                    .reshape(batch, chunks * length, config.hiddenSize());
            if (chunks == 1) {
                return states;
            }
            // <BOS>, then the 75 inner positions of every chunk, then the last chunk's final position
            NDList parts = new NDList();
            parts.add(states.get(new NDIndex(":, 0:1")));
            for (long c = 0; c < chunks; c++) {
                long start = c * length + 1;
                parts.add(states.get(new NDIndex(":, {}:{}", start, start + length - 2)));
            }
            parts.add(states.get(new NDIndex(":, {}:", chunks * length - 1)));
            return NDArrays.concat(parts, 1);
        });
    }

    /**
     * sd-scripts' weighted conditioning ({@code --weighted_captions}): {@link #encode} multiplied by the token
     * weights {@code [B, n, 77]}; for several chunks only the 75 inner positions of each chunk are weighted.
     */
    public NDArray encodeWeighted(NDArray inputIds, NDArray weights, int clipSkip) {
        NDArray states = encode(inputIds, clipSkip);
        Shape ws = weights.getShape();
        if (ws.dimension() != 3) {
            throw new IllegalArgumentException("weights must be [B, chunks, 77], got " + ws);
        }
        long chunks = ws.get(1);
        long length = ws.get(2);
        return Scopes.scoped(() -> {
            if (chunks == 1) {
                return states.mul(weights.reshape(ws.get(0), length, 1));
            }
            NDList parts = new NDList();
            parts.add(states.get(new NDIndex(":, 0:1")));
            for (long c = 0; c < chunks; c++) {
                long start = c * (length - 2) + 1;
                NDArray w = weights.get(new NDIndex(":, {}, 1:{}", c, length - 1)).expandDims(-1);
                parts.add(states.get(new NDIndex(":, {}:{}", start, start + length - 2)).mul(w));
            }
            parts.add(states.get(new NDIndex(":, -1:")));
            return NDArrays.concat(parts, 1);
        });
    }

    private NDArray encodeSequences(NDArray ids, int clipSkip) {
        int skip = Math.max(1, clipSkip);
        if (skip > config.numHiddenLayers()) {
            throw new IllegalArgumentException("clip_skip " + clipSkip + " exceeds the text encoder's "
                    + config.numHiddenLayers() + " layers");
        }
        Output out = forward(ids, config.numHiddenLayers() + 1 - skip, ActivationListener.NONE);
        out.hiddenStates().forEach(NDArray::close);
        out.pooledOutput().close();
        return out.lastHiddenState();
    }

    private NDArray encoderLayer(String name, NDArray x, NDArray mask, ActivationListener listener) {
        float eps = config.layerNormEps();
        NDArray attention = selfAttention(name + ".self_attn", layers.layerNorm(name + ".layer_norm1", x, eps), mask);
        listener.onActivation(name + ".self_attn", attention);
        NDArray h = x.add(attention);
        NDArray hidden = layers.linear(name + ".mlp.fc1", layers.layerNorm(name + ".layer_norm2", h, eps));
        NDArray mlp = layers.linear(name + ".mlp.fc2", Activations.byName(config.hiddenAct(), hidden));
        listener.onActivation(name + ".mlp", mlp);
        return h.add(mlp);
    }

    /** CLIP attention: queries scaled before the product, causal mask added to the scores. */
    private NDArray selfAttention(String name, NDArray x, NDArray mask) {
        Shape s = x.getShape();
        long batch = s.get(0);
        long length = s.get(1);
        int heads = config.numAttentionHeads();
        long headDim = config.hiddenSize() / heads;
        float scale = (float) Math.pow(headDim, -0.5);
        NDArray q = splitHeads(ScalarOps.mul(layers.linear(name + ".q_proj", x), scale), batch, length, heads, headDim);
        NDArray k = splitHeads(layers.linear(name + ".k_proj", x), batch, length, heads, headDim);
        NDArray v = splitHeads(layers.linear(name + ".v_proj", x), batch, length, heads, headDim);
        NDArray probabilities = q.batchMatMul(k.transpose(0, 2, 1)).add(mask).softmax(-1);
        NDArray context = probabilities.batchMatMul(v).reshape(batch, heads, length, headDim)
                .transpose(0, 2, 1, 3).reshape(batch, length, config.hiddenSize());
        return layers.linear(name + ".out_proj", context);
    }

    private static NDArray splitHeads(NDArray x, long batch, long length, int heads, long headDim) {
        return x.reshape(batch, length, heads, headDim).transpose(0, 2, 1, 3).reshape(batch * heads, length, headDim);
    }

    /** {@code [L, L]}: 0 on and below the diagonal, -inf above (a token sees only itself and earlier tokens). */
    private static NDArray causalMask(NDManager manager, long length) {
        int n = (int) length;
        float[] mask = new float[n * n];
        for (int i = 0; i < n; i++) {
            Arrays.fill(mask, i * n + i + 1, (i + 1) * n, Float.NEGATIVE_INFINITY);
        }
        return manager.create(mask, new Shape(length, length));
    }

    /**
     * The last hidden state at each sequence's EOS: transformers takes argmax(input_ids) for configs with the legacy
     * {@code eos_token_id} 2 (the real SD checkpoints) and the first EOS position otherwise.
     */
    private NDArray pooled(NDArray last, long[] ids, long batch, long length) {
        long[] positions = new long[(int) batch];
        for (int b = 0; b < batch; b++) {
            long best = 0;
            for (int t = 0; t < length; t++) {
                long id = ids[(int) (b * length + t)];
                if (config.eosTokenId() == 2) {
                    if (id > ids[(int) (b * length + best)]) {
                        best = t;
                    }
                } else if (id == config.eosTokenId()) {
                    best = t;
                    break;
                }
            }
            positions[b] = b * length + best;
        }
        NDArray index = last.getManager().create(positions).toDevice(last.getDevice(), false).duplicate();
        return last.reshape(batch * length, config.hiddenSize()).get(index);
    }

    private void checkWeights() {
        List<String> missing = new ArrayList<>();
        List<String> required = new ArrayList<>(List.of(PREFIX + "embeddings.token_embedding.weight",
                PREFIX + "embeddings.position_embedding.weight", PREFIX + "final_layer_norm.weight"));
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String l = PREFIX + "encoder.layers." + i;
            for (String p : List.of(".self_attn.q_proj", ".self_attn.k_proj", ".self_attn.v_proj",
                    ".self_attn.out_proj", ".mlp.fc1", ".mlp.fc2", ".layer_norm1", ".layer_norm2")) {
                required.add(l + p + ".weight");
            }
        }
        for (String key : required) {
            if (!layers.has(key)) {
                missing.add(key);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("CLIP text encoder weights are missing " + missing.size() + " tensors, e.g. "
                    + missing.subList(0, Math.min(3, missing.size())));
        }
        long[] tokenShape = layers.weight(PREFIX + "embeddings.token_embedding.weight").getShape().getShape();
        if (tokenShape.length != 2 || tokenShape[0] != config.vocabSize() || tokenShape[1] != config.hiddenSize()) {
            throw new IllegalArgumentException("text_model.embeddings.token_embedding.weight has shape "
                    + Arrays.toString(tokenShape) + ", config says [" + config.vocabSize() + ", " + config.hiddenSize() + "]");
        }
    }
}
