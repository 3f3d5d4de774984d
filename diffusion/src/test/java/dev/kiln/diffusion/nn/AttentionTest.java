package dev.kiln.diffusion.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class AttentionTest {

    @Test
    void chunkedAttentionEqualsUnchunked() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(7);
            // 2 x 4 heads x 37 queries (not a multiple of the chunk) over 11 keys, head width 6
            NDArray q = m.randomNormal(new Shape(2, 37, 24));
            NDArray k = m.randomNormal(new Shape(2, 11, 24));
            NDArray v = m.randomNormal(new Shape(2, 11, 24));
            float[] whole = Attention.attend(q, k, v, 4, false, 0).toFloatArray();
            long bytesPerRow = 2 * 4 * 11 * 4;
            for (long rows : new long[] {1, 5, 36}) {
                float[] chunked = Attention.attend(q, k, v, 4, false, rows * bytesPerRow).toFloatArray();
                assertArrayEquals(whole, chunked, 1e-6f, "chunks of " + rows + " rows");
            }
        }
    }

    @Test
    void matchesExplicitSoftmaxAttentionPerHead() {
        try (NDManager m = NDManager.newBaseManager()) {
            int b = 1, n = 5, keys = 3, heads = 2, d = 4;
            Engine.getInstance().setRandomSeed(3);
            NDArray q = m.randomNormal(new Shape(b, n, heads * d));
            NDArray k = m.randomNormal(new Shape(b, keys, heads * d));
            NDArray v = m.randomNormal(new Shape(b, keys, heads * d));
            float[] out = Attention.attend(q, k, v, heads, true, 0).toFloatArray();
            float[] qa = q.toFloatArray(), ka = k.toFloatArray(), va = v.toFloatArray();
            int c = heads * d;
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < n; i++) {
                    double[] s = new double[keys];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j < keys; j++) {
                        for (int e = 0; e < d; e++) {
                            s[j] += (double) qa[i * c + h * d + e] * ka[j * c + h * d + e];
                        }
                        s[j] /= Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    for (int j = 0; j < keys; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int e = 0; e < d; e++) {
                        double expect = 0;
                        for (int j = 0; j < keys; j++) {
                            expect += s[j] / sum * va[j * c + h * d + e];
                        }
                        assertEquals(expect, out[i * c + h * d + e], 1e-5, "head " + h + " row " + i + " col " + e);
                    }
                }
            }
        }
    }
}
