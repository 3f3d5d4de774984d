package dev.kiln.diffusion.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayersTest {

    @Test
    void groupNormMatchesDefinition() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(11);
            int n = 2, c = 6, groups = 3, hw = 5;
            NDArray x = m.randomNormal(new Shape(n, c, 1, hw)).mul(3).add(1);
            NDArray gamma = m.randomNormal(new Shape(c));
            NDArray beta = m.randomNormal(new Shape(c));
            Layers layers = new Layers("test", Map.of("gn.weight", gamma, "gn.bias", beta));
            float eps = 1e-6f;
            float[] out = layers.groupNorm("gn", x, groups, eps).toFloatArray();
            float[] xa = x.toFloatArray(), ga = gamma.toFloatArray(), ba = beta.toFloatArray();
            int per = c / groups * hw;
            for (int b = 0; b < n; b++) {
                for (int g = 0; g < groups; g++) {
                    int start = (b * c + g * (c / groups)) * hw;
                    double mean = 0, var = 0;
                    for (int i = 0; i < per; i++) {
                        mean += xa[start + i];
                    }
                    mean /= per;
                    for (int i = 0; i < per; i++) {
                        var += Math.pow(xa[start + i] - mean, 2);
                    }
                    var /= per; // biased, as torch
                    for (int i = 0; i < per; i++) {
                        int ch = g * (c / groups) + i / hw;
                        double expect = (xa[start + i] - mean) / Math.sqrt(var + eps) * ga[ch] + ba[ch];
                        assertEquals(expect, out[start + i], 1e-5, "element " + (start + i));
                    }
                }
            }
        }
    }

    @Test
    void everyLinearAndConvPassesThroughTheHookByName() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.ones(new Shape(3, 2));
            NDArray cw = m.ones(new Shape(4, 2, 3, 3));
            List<String> seen = new ArrayList<>();
            Layers layers = new Layers("test", Map.of("a.proj.weight", w, "b.conv.weight", cw))
                    .withHook((call, out) -> {
                        seen.add(call.name() + (call.isConv() ? ":conv s" + call.stride() + " p" + call.padding() : ":linear"));
                        return out.add(1f);
                    });
            NDArray y = layers.linear("a.proj", m.create(new float[] {1, 2}, new Shape(1, 2)));
            assertEquals(4f, y.getFloat(0, 0), "base output 3 plus the hook's 1");
            layers.conv2d("b.conv", m.ones(new Shape(1, 2, 4, 4)), 2, 1);
            assertEquals(List.of("a.proj:linear", "b.conv:conv s2 p1"), seen);
        }
    }

    @Test
    void missingWeightOrWrongWidthNamesTheModule() {
        try (NDManager m = NDManager.newBaseManager()) {
            Layers layers = new Layers("UNet", Map.of("x.weight", m.ones(new Shape(3, 5))));
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                    () -> layers.linear("y", m.ones(new Shape(1, 5))));
            assertTrue(missing.getMessage().contains("'y.weight'"), missing.getMessage());
            IllegalArgumentException width = assertThrows(IllegalArgumentException.class,
                    () -> layers.linear("x", m.ones(new Shape(1, 4))));
            assertTrue(width.getMessage().contains("'x'") && width.getMessage().contains("4"), width.getMessage());
        }
    }

    @Test
    void gegluGatesWithExactGelu() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray projected = m.create(new float[] {2f, -1f, 0.5f, 1.5f}, new Shape(1, 4));
            float[] out = Activations.geglu(projected).toFloatArray();
            assertEquals(2, out.length);
            assertEquals(2.0 * gelu(0.5), out[0], 1e-6);
            assertEquals(-1.0 * gelu(1.5), out[1], 1e-6);
        }
    }

    /** Exact GELU via erf, computed from its series-free definition with a high-precision erf. */
    private static double gelu(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    private static double erf(double x) {
        // Taylor series; converges fast for |x| <= 2
        double sum = 0, term = x;
        for (int n = 0; n < 60; n++) {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }
}
