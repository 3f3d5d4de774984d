package dev.kiln.diffusion.textencoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.model.StableDiffusionLoader;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The sampler's prompt encoding on the tiny SD1 encoder. Its vocabulary has 1000 ids, so the tokenizer here is a
 * stand-in whose words map to ids below 1000 (BOS 998, EOS 999), built from a tokenizer.json.
 */
class LongPromptWeightingTest {

    @Test
    void unweightedPromptEqualsThePlainEncoding() throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            ClipTextModel te = tinyEncoder(manager);
            ClipTokenizer tok = tinyTokenizer();
            LongPromptWeighting.Embeddings e = LongPromptWeighting.encode(te, tok, "a b c", "", 1,
                    LongPromptWeighting.DEFAULT_MAX_CHUNKS, manager);
            assertEquals(new Shape(1, 77, 32), e.conditional().getShape());
            long[] ids = new long[77];
            Arrays.fill(ids, 999);
            ids[0] = 998;
            ids[1] = 10;
            ids[2] = 11;
            ids[3] = 12;
            NDArray plain = te.encode(manager.create(ids, new Shape(1, 77)), 1);
            assertArrayEquals(plain.toFloatArray(), e.conditional().toFloatArray(), 1e-6f);
        }
    }

    @Test
    void weightsScaleTokensAndTheMeanIsKept() throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            ClipTextModel te = tinyEncoder(manager);
            ClipTokenizer tok = tinyTokenizer();
            NDArray plain = LongPromptWeighting.encode(te, tok, "a b c", null, 1, 3, manager).conditional();
            NDArray weighted = LongPromptWeighting.encode(te, tok, "a (b:1.5) c", null, 1, 3, manager).conditional();
            assertEquals(plain.mean().getFloat(), weighted.mean().getFloat(), 1e-6f);
            // after rescaling, token b's state is 1.5x token a's scale factor
            NDArray ratioA = weighted.get(new NDIndex("0, 1")).div(plain.get(new NDIndex("0, 1")));
            NDArray ratioB = weighted.get(new NDIndex("0, 2")).div(plain.get(new NDIndex("0, 2")));
            float scale = ratioA.getFloat(0);
            for (float r : ratioA.toFloatArray()) {
                assertEquals(scale, r, 1e-4f * Math.abs(scale));
            }
            for (float r : ratioB.toFloatArray()) {
                assertEquals(1.5f * scale, r, 1e-4f * Math.abs(scale));
            }
        }
    }

    @Test
    void promptAndNegativeShareTheChunkCount() throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            ClipTextModel te = tinyEncoder(manager);
            ClipTokenizer tok = tinyTokenizer();
            String longPrompt = "a b c ".repeat(30); // 90 tokens: two chunks
            LongPromptWeighting.Embeddings e = LongPromptWeighting.encode(te, tok, "a", longPrompt, 1, 3, manager);
            assertEquals(new Shape(1, 154, 32), e.conditional().getShape());
            assertEquals(new Shape(1, 154, 32), e.unconditional().getShape());
            LongPromptWeighting.Embeddings capped = LongPromptWeighting.encode(te, tok, longPrompt, null, 1, 1, manager);
            assertEquals(new Shape(1, 77, 32), capped.conditional().getShape());
        }
    }

    private static ClipTextModel tinyEncoder(NDManager manager) {
        return StableDiffusionLoader.load(GoldenData.config("tiny-sd15").resolve("diffusers"), manager).textEncoder();
    }

    private static ClipTokenizer tinyTokenizer() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("tiny-tokenizer");
        java.nio.file.Files.writeString(dir.resolve("tokenizer.json"), """
                {"model":{"type":"BPE","vocab":{"a</w>":10,"b</w>":11,"c</w>":12},"merges":[]},
                 "added_tokens":[{"id":998,"content":"<|startoftext|>"},{"id":999,"content":"<|endoftext|>"}]}""");
        return ClipTokenizer.fromTokenizerJson(dir.resolve("tokenizer.json"), ClipTokenizer.PAD_WITH_EOS);
    }
}
