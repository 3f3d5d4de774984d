package dev.kiln.diffusion.textencoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.model.StableDiffusionLoader;
import dev.kiln.diffusion.tokenizer.TokenChunks;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Long prompts, weighting and input checks, on the tiny SD1 text encoder of the golden data. */
class ClipTextModelTest {

    private static final int BOS = 998;
    private static final int EOS = 999;

    @Test
    void longPromptsAreEncodedPerChunkAndReassembled() {
        try (NDManager manager = NDManager.newBaseManager()) {
            ClipTextModel te = tinyEncoder(manager);
            int[] ids = randomIds(100);
            long[][] chunks = TokenChunks.chunk(ids, 150, BOS, EOS, EOS);
            NDArray states = te.encode(manager.create(chunks).expandDims(0), 1);
            assertEquals(new Shape(1, 152, 32), states.getShape());

            NDArray first = te.forward(manager.create(new long[][] {chunks[0]})).lastHiddenState();
            NDArray second = te.forward(manager.create(new long[][] {chunks[1]})).lastHiddenState();
            assertArrayEquals(first.get(new NDIndex(":, 0:76")).toFloatArray(),
                    states.get(new NDIndex(":, 0:76")).toFloatArray(), "BOS and the first chunk's 75 tokens");
            assertArrayEquals(second.get(new NDIndex(":, 1:77")).toFloatArray(),
                    states.get(new NDIndex(":, 76:152")).toFloatArray(), "second chunk's tokens and final state");
        }
    }

    @Test
    void clipSkipTakesFinalLayerNormOfAnEarlierLayer() {
        try (NDManager manager = NDManager.newBaseManager()) {
            ClipTextModel te = tinyEncoder(manager);
            NDArray ids = manager.create(new long[][] {TokenChunks.chunk(randomIds(10), 75, BOS, EOS, EOS)[0]});
            ClipTextModel.Output full = te.forward(ids);
            assertArrayEquals(full.lastHiddenState().toFloatArray(), te.encode(ids, 1).toFloatArray());
            assertArrayEquals(full.lastHiddenState().toFloatArray(), te.encode(ids, 0).toFloatArray(),
                    "clip_skip unset behaves as 1");
            NDArray penultimate = full.hiddenStates().get(full.hiddenStates().size() - 2);
            NDArray normed = penultimate.getNDArrayInternal().layerNorm(penultimate, new Shape(32),
                    te.weights().get("text_model.final_layer_norm.weight"),
                    te.weights().get("text_model.final_layer_norm.bias"), 1e-5f).head();
            assertArrayEquals(normed.toFloatArray(), te.encode(ids, 2).toFloatArray(), 1e-6f);
            assertThrows(IllegalArgumentException.class, () -> te.encode(ids, 4));
        }
    }

    @Test
    void weightsScaleTheirTokensStates() {
        try (NDManager manager = NDManager.newBaseManager()) {
            ClipTextModel te = tinyEncoder(manager);
            int[] ids = randomIds(90);
            float[] weights = new float[ids.length];
            for (int i = 0; i < weights.length; i++) {
                weights[i] = 0.5f + i * 0.01f;
            }
            TokenChunks.Weighted w = TokenChunks.chunkWeighted(ids, weights, 150, BOS, EOS, EOS);
            NDArray idArray = manager.create(w.ids()).expandDims(0);
            NDArray plain = te.encode(idArray, 1);
            NDArray weighted = te.encodeWeighted(idArray, manager.create(w.weights()).expandDims(0), 1);
            float[] p = plain.toFloatArray();
            float[] q = weighted.toFloatArray();
            for (int position = 0; position < 152; position++) {
                // position t (1..150) holds token t-1; BOS, EOS, padding and the final state keep weight 1
                float expected = position >= 1 && position <= ids.length ? weights[position - 1] : 1f;
                for (int c = 0; c < 32; c++) {
                    int i = position * 32 + c;
                    assertEquals(p[i] * expected, q[i], 1e-6f + Math.abs(p[i]) * 1e-6f, "position " + position);
                }
            }
        }
    }

    @Test
    void rejectsIdsOutsideTheVocabulary() {
        try (NDManager manager = NDManager.newBaseManager()) {
            ClipTextModel te = tinyEncoder(manager);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> te.forward(manager.create(new long[][] {{BOS, 49407, EOS}})));
            assertTrue(e.getMessage().contains("49407"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> te.forward(manager.create(new long[1][78])));
        }
    }

    private static ClipTextModel tinyEncoder(NDManager manager) {
        return StableDiffusionLoader.load(GoldenData.config("tiny-sd15").resolve("diffusers"), manager).textEncoder();
    }

    private static int[] randomIds(int n) {
        Random random = new Random(n);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = random.nextInt(990);
        }
        return ids;
    }
}
