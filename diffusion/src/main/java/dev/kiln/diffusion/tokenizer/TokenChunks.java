package dev.kiln.diffusion.tokenizer;

/**
 * sd-scripts' layout of token ids for the text encoder ({@code library/strategy_base.py} {@code _get_input_ids}):
 * {@code [BOS] + ids[:maxLength-2] + [EOS] + [PAD]...} over {@code maxLength = maxTokenLength + 2}, then, for
 * long prompts, one 77-id chunk per 75 tokens, each {@code [BOS] + 75 ids + [last id]}.
 */
public final class TokenChunks {

    /** Ids and per-token weights of a weighted prompt, both {@code [chunks][77]}. */
    public record Weighted(long[][] ids, float[][] weights) {
    }

    private TokenChunks() {
    }

    /** Validates sd-scripts' {@code max_token_length} (75, 150 or 225) and returns it. */
    public static int checkMaxTokenLength(int maxTokenLength) {
        if (maxTokenLength != 75 && maxTokenLength != 150 && maxTokenLength != 225) {
            throw new IllegalArgumentException("max_token_length must be 75, 150 or 225, got " + maxTokenLength);
        }
        return maxTokenLength;
    }

    /** Lays out raw ids (no BOS/EOS) as {@code [chunks][77]}. */
    public static long[][] chunk(int[] ids, int maxTokenLength, int bos, int eos, int pad) {
        return split(padded(ids, maxTokenLength, bos, eos, pad), bos, eos, pad);
    }

    /** As {@link #chunk}, with per-token weights (1.0 at BOS, EOS and padding). */
    public static Weighted chunkWeighted(int[] ids, float[] weights, int maxTokenLength, int bos, int eos, int pad) {
        if (ids.length != weights.length) {
            throw new IllegalArgumentException(ids.length + " ids but " + weights.length + " weights");
        }
        long[] sequence = padded(ids, maxTokenLength, bos, eos, pad);
        float[] flatWeights = new float[sequence.length];
        java.util.Arrays.fill(flatWeights, 1f);
        int kept = Math.min(ids.length, maxTokenLength);
        System.arraycopy(weights, 0, flatWeights, 1, kept);
        long[][] chunks = split(sequence, bos, eos, pad);
        float[][] chunkWeights = new float[chunks.length][ClipTokenizer.CONTEXT_LENGTH];
        for (int c = 0; c < chunks.length; c++) {
            java.util.Arrays.fill(chunkWeights[c], 1f);
            if (chunks.length > 1) {
                System.arraycopy(flatWeights, 1 + c * ClipTokenizer.CHUNK_TOKENS, chunkWeights[c], 1,
                        ClipTokenizer.CHUNK_TOKENS);
            } else {
                System.arraycopy(flatWeights, 0, chunkWeights[c], 0, ClipTokenizer.CONTEXT_LENGTH);
            }
        }
        return new Weighted(chunks, chunkWeights);
    }

    private static long[] padded(int[] ids, int maxTokenLength, int bos, int eos, int pad) {
        checkMaxTokenLength(maxTokenLength);
        int maxLength = maxTokenLength + 2;
        long[] out = new long[maxLength];
        java.util.Arrays.fill(out, pad);
        out[0] = bos;
        int kept = Math.min(ids.length, maxTokenLength);
        for (int i = 0; i < kept; i++) {
            out[1 + i] = ids[i];
        }
        out[1 + kept] = eos;
        return out;
    }

    private static long[][] split(long[] sequence, int bos, int eos, int pad) {
        int n = (sequence.length - 2) / ClipTokenizer.CHUNK_TOKENS;
        if (n == 1) {
            return new long[][] {sequence};
        }
        long[][] chunks = new long[n][ClipTokenizer.CONTEXT_LENGTH];
        for (int c = 0; c < n; c++) {
            long[] chunk = chunks[c];
            chunk[0] = sequence[0];
            System.arraycopy(sequence, 1 + c * ClipTokenizer.CHUNK_TOKENS, chunk, 1, ClipTokenizer.CHUNK_TOKENS);
            chunk[ClipTokenizer.CONTEXT_LENGTH - 1] = sequence[sequence.length - 1];
            if (pad != eos) {
                // SD2: a chunk ending in "x <PAD>" gets an EOS; a chunk starting "<BOS> <PAD>" gets one too
                long beforeLast = chunk[ClipTokenizer.CONTEXT_LENGTH - 2];
                if (beforeLast != eos && beforeLast != pad) {
                    chunk[ClipTokenizer.CONTEXT_LENGTH - 1] = eos;
                }
                if (chunk[1] == pad) {
                    chunk[1] = eos;
                }
            }
        }
        return chunks;
    }
}
