package dev.kiln.diffusion.train.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Global-norm clipping against a double-precision reference. */
class GradientClippingTest {

    static double[][] gradients(double scale) {
        double[][] g = {new double[12], new double[7], new double[30]};
        for (int k = 0; k < g.length; k++) {
            for (int i = 0; i < g[k].length; i++) {
                g[k][i] = scale * Math.sin(1.3 * i + 0.7 * k) * (k + 1);
            }
        }
        return g;
    }

    static List<NDArray> arrays(NDManager manager, double[][] g) {
        return List.of(manager.create(OptimizersTest.toFloats(g[0]), new Shape(3, 4)),
                manager.create(OptimizersTest.toFloats(g[1])),
                manager.create(OptimizersTest.toFloats(g[2]), new Shape(2, 3, 5)));
    }

    static double norm(double[][] g) {
        double s = 0;
        for (double[] t : g) {
            for (double v : t) {
                s += v * v;
            }
        }
        return Math.sqrt(s);
    }

    @Test
    void largeGradientsAreScaledToTheMaxNormTogether() {
        double[][] g = gradients(0.8);
        double total = norm(g);
        try (NDManager manager = NDManager.newBaseManager()) {
            List<NDArray> grads = arrays(manager, g);
            double returned = GradientClipping.clipGlobalNorm(grads, 1.0);
            assertEquals(total, returned, 1e-5 * total);
            double coefficient = 1.0 / (total + 1e-6);
            for (int k = 0; k < g.length; k++) {
                float[] actual = grads.get(k).toFloatArray();
                for (int i = 0; i < actual.length; i++) {
                    assertEquals(g[k][i] * coefficient, actual[i], 1e-6, "grad " + k + "[" + i + "]");
                }
            }
            double[][] clipped = new double[3][];
            for (int k = 0; k < 3; k++) {
                float[] f = grads.get(k).toFloatArray();
                clipped[k] = new double[f.length];
                for (int i = 0; i < f.length; i++) {
                    clipped[k][i] = f[i];
                }
            }
            assertEquals(1.0, norm(clipped), 1e-5);
        }
    }

    @Test
    void smallGradientsAndDisabledClippingAreLeftAlone() {
        double[][] g = gradients(0.01);
        try (NDManager manager = NDManager.newBaseManager()) {
            for (double maxNorm : new double[] {1.0, 0.0}) {
                List<NDArray> grads = arrays(manager, maxNorm == 0 ? gradients(5) : g);
                double[][] reference = maxNorm == 0 ? gradients(5) : g;
                double returned = GradientClipping.clipGlobalNorm(grads, maxNorm);
                assertEquals(norm(reference), returned, 1e-5 * norm(reference));
                for (int k = 0; k < 3; k++) {
                    float[] actual = grads.get(k).toFloatArray();
                    for (int i = 0; i < actual.length; i++) {
                        assertEquals((float) reference[k][i], actual[i], "unchanged grad " + k + "[" + i + "]");
                    }
                }
            }
        }
    }
}
