package dev.kiln.diffusion.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Layers#conv2d} forward, input gradient and weight gradient against a double-precision reference, many
 * times over. Regression for libtorch 2.7.1's oneDNN AVX-512 convolution reading unzeroed channel-block padding
 * when a channel count is not a multiple of 16 (see {@link Layers#CPU_CHANNEL_BLOCK}): unpadded, a [2,24,6,10]
 * forward was wrong in 100/100 runs and a [2,8,4,4] input gradient in ~80% of runs on an AVX-512 CPU, with
 * values that changed from call to call, so each case loops to catch it at a realistic rate.
 */
class ConvolutionCorrectnessTest {

    private static final int ITERATIONS = 40;

    @ParameterizedTest(name = "[{0},{1},{2},{3}] -> {4} k{5} s{6} p{7}")
    @CsvSource({
            "2, 8, 4, 4, 8, 3, 1, 1",
            "2, 24, 6, 10, 24, 3, 1, 1",
            "2, 8, 4, 4, 3, 3, 1, 1",
            "2, 24, 13, 21, 8, 3, 2, 0",
            "1, 8, 24, 40, 4, 3, 1, 1",
            "2, 6, 6, 10, 6, 1, 1, 0",
            "2, 32, 8, 12, 32, 3, 1, 1",
    })
    void matchesDoublePrecisionReferenceEveryTime(int n, int c, int h, int w, int o, int k, int stride, int pad) {
        int ho = (h + 2 * pad - k) / stride + 1;
        int wo = (w + 2 * pad - k) / stride + 1;
        Random random = new Random(7);
        try (NDManager m = NDManager.newBaseManager()) {
            for (int it = 0; it < ITERATIONS; it++) {
                try (NDManager s = m.newSubManager()) {
                    float[] xs = gaussian(random, n * c * h * w, 1f);
                    float[] ws = gaussian(random, o * c * k * k, 0.2f);
                    float[] bs = gaussian(random, o, 1f);
                    float[] cs = gaussian(random, n * o * ho * wo, 1f);
                    double[] yRef = new double[cs.length];
                    double[] gxRef = new double[xs.length];
                    double[] gwRef = new double[ws.length];
                    for (int b = 0; b < n; b++) {
                        for (int oc = 0; oc < o; oc++) {
                            for (int i = 0; i < ho; i++) {
                                for (int j = 0; j < wo; j++) {
                                    int yi = ((b * o + oc) * ho + i) * wo + j;
                                    double acc = bs[oc];
                                    for (int ic = 0; ic < c; ic++) {
                                        for (int ki = 0; ki < k; ki++) {
                                            for (int kj = 0; kj < k; kj++) {
                                                int ii = i * stride + ki - pad;
                                                int jj = j * stride + kj - pad;
                                                if (ii < 0 || jj < 0 || ii >= h || jj >= w) {
                                                    continue;
                                                }
                                                int xi = ((b * c + ic) * h + ii) * w + jj;
                                                int wi = ((oc * c + ic) * k + ki) * k + kj;
                                                acc += (double) ws[wi] * xs[xi];
                                                gxRef[xi] += (double) ws[wi] * cs[yi];
                                                gwRef[wi] += (double) xs[xi] * cs[yi];
                                            }
                                        }
                                    }
                                    yRef[yi] = acc;
                                }
                            }
                        }
                    }
                    NDArray x = s.create(xs, new Shape(n, c, h, w));
                    NDArray weight = s.create(ws, new Shape(o, c, k, k));
                    NDArray cot = s.create(cs, new Shape(n, o, ho, wo));
                    Map<String, NDArray> weights = new HashMap<>();
                    weights.put("conv.weight", weight);
                    weights.put("conv.bias", s.create(bs, new Shape(o)));
                    Layers layers = new Layers("T", weights);
                    x.setRequiresGradient(true);
                    weight.setRequiresGradient(true);
                    float[] y;
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray out = layers.conv2d("conv", x, stride, pad);
                        y = out.toFloatArray();
                        gc.backward(out.mul(cot).sum());
                    }
                    String what = " at iteration " + it;
                    assertClose("forward" + what, yRef, y);
                    assertClose("input gradient" + what, gxRef, x.getGradient().toFloatArray());
                    assertClose("weight gradient" + what, gwRef, weight.getGradient().toFloatArray());
                }
            }
        }
    }

    private static float[] gaussian(Random random, int size, float scale) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) {
            v[i] = (float) random.nextGaussian() * scale;
        }
        return v;
    }

    private static void assertClose(String what, double[] expected, float[] actual) {
        assertTrue(expected.length == actual.length, what + ": length " + actual.length);
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]);
            int index = i;
            assertTrue(Float.isFinite(actual[i]) && err <= 1e-3 * (1 + Math.abs(expected[i])),
                    () -> what + ": element " + index + " is " + actual[index] + ", expected " + expected[index]);
        }
    }
}
