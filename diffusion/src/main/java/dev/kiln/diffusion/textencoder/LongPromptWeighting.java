package dev.kiln.diffusion.textencoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import dev.kiln.diffusion.tokenizer.PromptWeighting;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Prompt conditioning as sd-scripts' sample-image pipeline computes it ({@code library/lpw_stable_diffusion.py},
 * {@code get_weighted_text_embeddings} with its defaults: up to 3 chunks of 75 tokens, BOS/EOS kept in every chunk).
 *
 * <p>Differences from the training path ({@link ClipTextModel#encodeWeighted}): the prompt and the negative prompt
 * share one chunk count (enough for the longer, at most {@code maxChunks}), padding uses EOS, every chunk keeps all
 * 77 states (output length {@code 77·n}), and after the weights are applied the embedding is rescaled so its mean
 * equals the unweighted mean.
 */
public final class LongPromptWeighting {

    /** Conditioning for the prompt and the negative prompt, both {@code [1, 77·n, C]}. */
    public record Embeddings(NDArray conditional, NDArray unconditional) {
    }

    private LongPromptWeighting() {
    }

    /** The sampler's default: at most 3 chunks (225 tokens). */
    public static final int DEFAULT_MAX_CHUNKS = 3;

    /**
     * @param negativePrompt the negative prompt, or null for none (encoded as the empty prompt)
     * @param clipSkip  kohya numbering, as {@link ClipTextModel#encode}
     * @param maxChunks the pipeline's {@code max_embeddings_multiples} ({@link #DEFAULT_MAX_CHUNKS})
     * @param manager   owner of the returned arrays
     */
    public static Embeddings encode(ClipTextModel encoder, ClipTokenizer tokenizer, String prompt,
                                    String negativePrompt, int clipSkip, int maxChunks, NDManager manager) {
        if (maxChunks < 1) {
            throw new IllegalArgumentException("max_embeddings_multiples must be at least 1, got " + maxChunks);
        }
        int chunk = ClipTokenizer.CHUNK_TOKENS;
        Tokens cond = tokens(tokenizer, prompt, chunk * maxChunks);
        Tokens uncond = tokens(tokenizer, negativePrompt == null ? "" : negativePrompt, chunk * maxChunks);
        int longest = Math.max(cond.ids.length, uncond.ids.length);
        int chunks = Math.max(1, Math.min(maxChunks, (longest - 1) / chunk + 1));
        return new Embeddings(embed(encoder, tokenizer, cond, chunks, clipSkip, manager),
                embed(encoder, tokenizer, uncond, chunks, clipSkip, manager));
    }

    private record Tokens(long[] ids, float[] weights) {
    }

    /** Token ids and weights of the weighted prompt, truncated to {@code limit} tokens (no BOS/EOS). */
    private static Tokens tokens(ClipTokenizer tokenizer, String prompt, int limit) {
        List<Long> ids = new ArrayList<>();
        List<Float> weights = new ArrayList<>();
        for (PromptWeighting.Segment segment : PromptWeighting.parse(prompt)) {
            for (int id : tokenizer.encode(segment.text())) {
                ids.add((long) id);
                weights.add(segment.weight());
            }
            if (ids.size() > limit) {
                break;
            }
        }
        int n = Math.min(limit, ids.size());
        long[] idArray = new long[n];
        float[] weightArray = new float[n];
        for (int i = 0; i < n; i++) {
            idArray[i] = ids.get(i);
            weightArray[i] = weights.get(i);
        }
        return new Tokens(idArray, weightArray);
    }

    private static NDArray embed(ClipTextModel encoder, ClipTokenizer tokenizer, Tokens tokens, int chunks,
                                 int clipSkip, NDManager manager) {
        int chunk = ClipTokenizer.CHUNK_TOKENS;
        int length = ClipTokenizer.CONTEXT_LENGTH;
        int bos = tokenizer.bosId();
        int eos = tokenizer.eosId();
        int pad = tokenizer.padId();
        // [BOS] + tokens + EOS up to 75·n + 2
        long[] sequence = new long[chunk * chunks + 2];
        Arrays.fill(sequence, eos);
        sequence[0] = bos;
        System.arraycopy(tokens.ids, 0, sequence, 1, tokens.ids.length);
        // weights per chunk: 1 for its BOS, the chunk's token weights, 1 for its EOS, padded with 1
        float[] weights = new float[length * chunks];
        Arrays.fill(weights, 1f);
        if (tokens.weights.length > 0) {
            int at = 0;
            for (int c = 0; c < chunks; c++) {
                at++;
                int from = c * chunk;
                int to = Math.min(tokens.weights.length, (c + 1) * chunk);
                if (from < to) {
                    System.arraycopy(tokens.weights, from, weights, at, to - from);
                    at += to - from;
                }
                at++;
            }
        }
        long[][] chunkIds = new long[chunks][];
        for (int c = 0; c < chunks; c++) {
            long[] ids = Arrays.copyOfRange(sequence, c * chunk, c * chunk + length);
            if (chunks > 1) {
                ids[0] = bos;
                if (pad == eos) {
                    ids[length - 1] = sequence[sequence.length - 1];
                } else {
                    if (ids[length - 1] != eos && ids[length - 1] != pad) {
                        ids[length - 1] = eos;
                    }
                    if (ids[1] == pad) {
                        ids[1] = eos;
                    }
                }
            }
            chunkIds[c] = ids;
        }
        NDArray result;
        try (NDManager scratch = manager.newSubManager()) {
            NDList states = new NDList();
            for (long[] ids : chunkIds) {
                states.add(encoder.encode(scratch.create(ids, new Shape(1, length)), clipSkip));
            }
            NDArray embeddings = NDArrays.concat(states, 1);
            NDArray w = scratch.create(weights, new Shape(1, (long) length * chunks, 1))
                    .toDevice(embeddings.getDevice(), false);
            NDArray previousMean = embeddings.mean();
            NDArray weighted = embeddings.mul(w);
            result = weighted.mul(previousMean.div(weighted.mean()));
            result.attach(manager);
        }
        return result;
    }
}
