package dev.kiln.diffusion.train.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every optimizer against an independent double-precision re-implementation of its published update rule, on small
 * tensors over several steps (with weight decay, and a parameter that has no gradient).
 */
class OptimizersTest {

    /** Parameters: a Linear-like [3,4], a conv-like [2,3,2,2] and a vector [5]. */
    static final long[][] SHAPES = {{3, 4}, {2, 3, 2, 2}, {5}};
    static final int STEPS = 4;

    static double[] initial(int param, int size) {
        double[] p = new double[size];
        for (int i = 0; i < size; i++) {
            p[i] = 0.3 * Math.cos(1.7 * i + param) + 0.01 * param;
        }
        return p;
    }

    static double[] gradient(int param, int step, int size) {
        double[] g = new double[size];
        for (int i = 0; i < size; i++) {
            g[i] = 0.05 * Math.sin(0.9 * i + 2.3 * step + param) + (i % 3 == 0 ? 1e-4 : -2e-3) * (step + 1);
        }
        return g;
    }

    /** A double-precision reference step of one parameter; {@code state} is the reference's own memory. */
    interface Reference {
        void step(int t, double lr, double[] p, double[] g, long[] shape, Map<String, double[]> state);
    }

    /** Runs {@code optimizer} and {@code reference} for {@link #STEPS} steps and compares every parameter. */
    static void assertMatches(Optimizer optimizer, Reference reference, double lr, double tolerance) {
        try (NDManager manager = NDManager.newBaseManager(); optimizer) {
            Map<String, NDArray> params = new LinkedHashMap<>();
            double[][] ref = new double[SHAPES.length][];
            List<Map<String, double[]>> states = new java.util.ArrayList<>();
            for (int k = 0; k < SHAPES.length; k++) {
                Shape shape = new Shape(SHAPES[k]);
                ref[k] = initial(k, (int) shape.size());
                params.put("p" + k, manager.create(toFloats(ref[k]), shape));
                states.add(new java.util.HashMap<>());
            }
            // "frozen" has no gradient: it must stay as it is (no weight decay either)
            NDArray frozen = manager.create(new float[] {0.5f, -0.5f});
            params.put("frozen", frozen);
            List<ParamGroup> groups = List.of(new ParamGroup("all", lr, params));
            for (int t = 1; t <= STEPS; t++) {
                Map<String, NDArray> grads = new LinkedHashMap<>();
                for (int k = 0; k < SHAPES.length; k++) {
                    double[] g = gradient(k, t, ref[k].length);
                    grads.put("p" + k, manager.create(toFloats(g), new Shape(SHAPES[k])));
                    reference.step(t, lr, ref[k], g, SHAPES[k], states.get(k));
                }
                optimizer.step(groups, grads);
                for (int k = 0; k < SHAPES.length; k++) {
                    float[] actual = params.get("p" + k).toFloatArray();
                    for (int i = 0; i < actual.length; i++) {
                        double scale = Math.max(1e-3, Math.abs(ref[k][i]));
                        assertEquals(ref[k][i], actual[i], tolerance * scale,
                                optimizer.description() + " step " + t + " p" + k + "[" + i + "]");
                    }
                }
            }
            assertArrayEquals(new float[] {0.5f, -0.5f}, frozen.toFloatArray());
        }
    }

    static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    static double[] zerosIfAbsent(Map<String, double[]> state, String key, int size) {
        return state.computeIfAbsent(key, k -> new double[size]);
    }

    @Test
    void adamWFollowsTorchWithDecoupledWeightDecay() {
        double b1 = 0.8;
        double b2 = 0.99;
        double eps = 1e-6;
        double wd = 0.1;
        Optimizer adamw = Optimizers.create("AdamW", List.of("betas=0.8,0.99", "eps=1e-6", "weight_decay=0.1"));
        assertEquals("torch.optim.adamw.AdamW(betas=(0.8, 0.99),eps=1e-06,weight_decay=0.1)", adamw.description());
        assertMatches(adamw, (t, lr, p, g, shape, state) -> {
            double[] m = zerosIfAbsent(state, "m", p.length);
            double[] v = zerosIfAbsent(state, "v", p.length);
            for (int i = 0; i < p.length; i++) {
                p[i] -= lr * wd * p[i];
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.pow(b1, t));
                double vHat = v[i] / (1 - Math.pow(b2, t));
                p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
            }
        }, 1e-2, 2e-5);
    }

    @Test
    void adamWDefaultsAreTorchs() {
        assertMatches(Optimizers.create("", List.of()), (t, lr, p, g, shape, state) -> {
            double[] m = zerosIfAbsent(state, "m", p.length);
            double[] v = zerosIfAbsent(state, "v", p.length);
            for (int i = 0; i < p.length; i++) {
                p[i] *= 1 - lr * 0.01;
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                p[i] -= lr * (m[i] / (1 - Math.pow(0.9, t))) / (Math.sqrt(v[i] / (1 - Math.pow(0.999, t))) + 1e-8);
            }
        }, 1e-3, 2e-5);
    }

    @Test
    void lionUpdatesBySignOfInterpolatedMomentum() {
        double wd = 0.5;
        Optimizer lion = Optimizers.create("lion", List.of("weight_decay=0.5"));
        assertEquals("lion_pytorch.lion_pytorch.Lion(weight_decay=0.5)", lion.description());
        assertMatches(lion, (t, lr, p, g, shape, state) -> {
            double[] m = zerosIfAbsent(state, "m", p.length);
            for (int i = 0; i < p.length; i++) {
                p[i] *= 1 - lr * wd;
                p[i] -= lr * Math.signum(0.9 * m[i] + 0.1 * g[i]);
                m[i] = 0.99 * m[i] + 0.01 * g[i];
            }
        }, 1e-3, 1e-5);
    }

    @Test
    void sgdNesterovUsesMomentumNinetyByDefault() {
        double wd = 0.05;
        Optimizer sgd = Optimizers.create("SGDNesterov", List.of("weight_decay=0.05"));
        assertEquals("torch.optim.sgd.SGD(weight_decay=0.05,momentum=0.9)", sgd.description());
        assertMatches(sgd, (t, lr, p, g, shape, state) -> {
            double[] buf = state.get("buf");
            double[] d = new double[p.length];
            for (int i = 0; i < p.length; i++) {
                d[i] = g[i] + wd * p[i];
            }
            if (buf == null) {
                buf = d.clone();
                state.put("buf", buf);
            } else {
                for (int i = 0; i < p.length; i++) {
                    buf[i] = 0.9 * buf[i] + d[i];
                }
            }
            for (int i = 0; i < p.length; i++) {
                p[i] -= lr * (d[i] + 0.9 * buf[i]);
            }
        }, 0.5, 1e-5);
    }

    @Test
    void adafactorWithRelativeStepFactoredSecondMomentsAndClipping() {
        Optimizer adafactor = Optimizers.create("AdaFactor", List.of());
        assertEquals("transformers.optimization.Adafactor(relative_step=True)", adafactor.description());
        // the group lr is ignored under relative_step
        assertMatches(adafactor, (t, lr, p, g, shape, state) -> adafactorReference(t, null, 0, null, p, g, shape, state),
                123.0, 2e-5);
    }

    @Test
    void adafactorWithFixedLrBeta1AndWeightDecay() {
        Optimizer adafactor = Optimizers.create("adafactor",
                List.of("relative_step=False", "scale_parameter=False", "beta1=0.9", "weight_decay=0.1",
                        "clip_threshold=0.5"));
        assertMatches(adafactor, (t, lr, p, g, shape, state) -> adafactorReference(t, lr, 0.1, 0.9, p, g, shape, state),
                0.01, 2e-5);
    }

    /**
     * Adafactor (Shazeer &amp; Stern, Alg. 4/5 as in transformers): relative step min(1e-2, 1/√t)·max(1e-3, RMS(p)) or
     * a fixed lr; β2ₜ = 1 - t^-0.8; factored row/column means of g² + 1e-30 for rank ≥ 2; update clipped to RMS
     * {@code clip} (1, or 0.5 when lr is fixed in this test).
     */
    static void adafactorReference(int t, Double fixedLr, double wd, Double beta1, double[] p, double[] g, long[] shape,
                                   Map<String, double[]> state) {
        int n = p.length;
        double clip = fixedLr == null ? 1.0 : 0.5;
        double lr = fixedLr != null ? fixedLr : Math.min(1e-2, 1 / Math.sqrt(t)) * Math.max(1e-3, rms(p));
        double beta2t = 1 - Math.pow(t, -0.8);
        double[] u = new double[n];
        if (shape.length >= 2) {
            int cols = (int) shape[shape.length - 1];
            int rowsPerMatrix = (int) shape[shape.length - 2];
            int matrices = n / (cols * rowsPerMatrix);
            double[] row = zerosIfAbsent(state, "row", matrices * rowsPerMatrix);
            double[] col = zerosIfAbsent(state, "col", matrices * cols);
            for (int b = 0; b < matrices; b++) {
                for (int r = 0; r < rowsPerMatrix; r++) {
                    double mean = 0;
                    for (int c = 0; c < cols; c++) {
                        double x = g[(b * rowsPerMatrix + r) * cols + c];
                        mean += (x * x + 1e-30) / cols;
                    }
                    row[b * rowsPerMatrix + r] = beta2t * row[b * rowsPerMatrix + r] + (1 - beta2t) * mean;
                }
                for (int c = 0; c < cols; c++) {
                    double mean = 0;
                    for (int r = 0; r < rowsPerMatrix; r++) {
                        double x = g[(b * rowsPerMatrix + r) * cols + c];
                        mean += (x * x + 1e-30) / rowsPerMatrix;
                    }
                    col[b * cols + c] = beta2t * col[b * cols + c] + (1 - beta2t) * mean;
                }
                double rowMean = 0;
                for (int r = 0; r < rowsPerMatrix; r++) {
                    rowMean += row[b * rowsPerMatrix + r] / rowsPerMatrix;
                }
                for (int r = 0; r < rowsPerMatrix; r++) {
                    for (int c = 0; c < cols; c++) {
                        int i = (b * rowsPerMatrix + r) * cols + c;
                        double vHat = row[b * rowsPerMatrix + r] / rowMean * col[b * cols + c];
                        u[i] = g[i] / Math.sqrt(vHat);
                    }
                }
            }
        } else {
            double[] v = zerosIfAbsent(state, "v", n);
            for (int i = 0; i < n; i++) {
                v[i] = beta2t * v[i] + (1 - beta2t) * (g[i] * g[i] + 1e-30);
                u[i] = g[i] / Math.sqrt(v[i]);
            }
        }
        double divisor = Math.max(1, rms(u) / clip);
        for (int i = 0; i < n; i++) {
            u[i] = u[i] / divisor * lr;
        }
        if (beta1 != null) {
            double[] m = zerosIfAbsent(state, "m", n);
            for (int i = 0; i < n; i++) {
                m[i] = beta1 * m[i] + (1 - beta1) * u[i];
                u[i] = m[i];
            }
        }
        for (int i = 0; i < n; i++) {
            p[i] -= wd * lr * p[i];
            p[i] -= u[i];
        }
    }

    static double rms(double[] x) {
        double s = 0;
        for (double v : x) {
            s += v * v;
        }
        return Math.sqrt(s / x.length);
    }

    @Test
    void prodigyEstimatesItsStepSizeFromTheDistanceTravelled() {
        // all parameters of one step share d, so the reference runs the three tensors together
        double lr = 1.0;
        double b1 = 0.9;
        double b2 = 0.999;
        double b3 = Math.sqrt(b2);
        double d0 = 1e-3;
        double eps = 1e-8;
        double wd = 0.01;
        Optimizer prodigy = Optimizers.create("Prodigy", List.of("weight_decay=0.01", "d0=1e-3"));
        try (NDManager manager = NDManager.newBaseManager(); prodigy) {
            int k = SHAPES.length;
            double[][] p = new double[k][];
            double[][] p0 = new double[k][];
            double[][] s = new double[k][];
            double[][] m = new double[k][];
            double[][] v = new double[k][];
            Map<String, NDArray> params = new LinkedHashMap<>();
            for (int j = 0; j < k; j++) {
                p[j] = initial(j, (int) new Shape(SHAPES[j]).size());
                p0[j] = p[j].clone();
                s[j] = new double[p[j].length];
                m[j] = new double[p[j].length];
                v[j] = new double[p[j].length];
                params.put("p" + j, manager.create(toFloats(p[j]), new Shape(SHAPES[j])));
            }
            double d = d0;
            double dMax = d0;
            double numerator = 0;
            for (int t = 1; t <= 8; t++) {
                Map<String, NDArray> grads = new LinkedHashMap<>();
                double dlr = d * lr;
                numerator *= b3;
                double denominator = 0;
                double[][] g = new double[k][];
                for (int j = 0; j < k; j++) {
                    // gradient of a quadratic pulling every weight towards 0.1: a consistent direction lets d grow
                    g[j] = new double[p[j].length];
                    for (int i = 0; i < p[j].length; i++) {
                        g[j][i] = p[j][i] - 0.1;
                    }
                    grads.put("p" + j, manager.create(toFloats(g[j]), new Shape(SHAPES[j])));
                    for (int i = 0; i < p[j].length; i++) {
                        numerator += (d / d0) * dlr * g[j][i] * (p0[j][i] - p[j][i]);
                        m[j][i] = b1 * m[j][i] + d * (1 - b1) * g[j][i];
                        v[j][i] = b2 * v[j][i] + d * d * (1 - b2) * g[j][i] * g[j][i];
                        s[j][i] = b3 * s[j][i] + (d / d0) * dlr * g[j][i];
                        denominator += Math.abs(s[j][i]);
                    }
                }
                double dHat = numerator / denominator;
                if (d == d0) {
                    d = Math.max(d, dHat);
                }
                dMax = Math.max(dMax, dHat);
                d = dMax; // growth_rate inf: min(d_max, d·inf)
                for (int j = 0; j < k; j++) {
                    for (int i = 0; i < p[j].length; i++) {
                        p[j][i] -= wd * dlr * p[j][i];
                        p[j][i] -= dlr * m[j][i] / (Math.sqrt(v[j][i]) + d * eps);
                    }
                }
                prodigy.step(List.of(new ParamGroup("all", lr, params)), grads);
                assertEquals(d, ((Prodigy) prodigy).d(), 1e-4 * d, "d after step " + t);
                for (int j = 0; j < k; j++) {
                    float[] actual = params.get("p" + j).toFloatArray();
                    for (int i = 0; i < actual.length; i++) {
                        // float32 sums feed d, so allow float32 rounding relative to the weights' scale (~0.3)
                        assertEquals(p[j][i], actual[i], 2e-6 + 1e-5 * Math.abs(p[j][i]),
                                "step " + t + " p" + j + "[" + i + "]");
                    }
                }
            }
            assertTrue(d > 50 * d0, "d grew from d0 to " + d);
        }
    }

    @Test
    void prodigyRefusesDifferentGroupLearningRates() {
        try (NDManager manager = NDManager.newBaseManager(); Optimizer prodigy = Optimizers.create("prodigy", null)) {
            NDArray a = manager.create(new float[] {1, 2});
            NDArray b = manager.create(new float[] {3, 4});
            List<ParamGroup> groups = List.of(new ParamGroup("textencoder", 0.5, Map.of("a", a)),
                    new ParamGroup("unet", 1.0, Map.of("b", b)));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> prodigy.step(groups, Map.of("a", a, "b", b)));
            assertTrue(e.getMessage().contains("textencoder"), e.getMessage());
        }
    }

    @Test
    void unsupportedTypesAndBadArgumentsFailClearly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Optimizers.create("AdamW8bit", List.of()));
        assertTrue(e.getMessage().contains("AdamW8bit") && e.getMessage().contains("bitsandbytes"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Optimizers.create("DAdaptAdam", List.of()));
        assertTrue(e.getMessage().contains("Prodigy"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Optimizers.create("bitsandbytes.optim.AdEMAMix8bit", null));
        assertTrue(e.getMessage().contains("supported: AdamW, Lion, SGDNesterov, AdaFactor, Prodigy"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> Optimizers.create("AdamW", List.of("weight_decay")));
        assertTrue(e.getMessage().contains("'weight_decay' is not key=value"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Optimizers.create("AdamW", List.of("momentum=0.9")));
        assertTrue(e.getMessage().contains("momentum") && e.getMessage().contains("AdamW"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Optimizers.create("AdamW", List.of("betas=0.9")));
        assertTrue(e.getMessage().contains("betas"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Optimizers.create("Lion", List.of("betas=fast")));
        assertTrue(e.getMessage().contains("betas") && e.getMessage().contains("fast"), e.getMessage());
    }

    @Test
    void optimizerArgsArePythonLiterals() {
        OptimizerArgs args = OptimizerArgs.parse(List.of("betas=(0.9, 0.99)", "eps=1e-8", "decouple=True",
                "d0=None", "name='x'", "n=3"));
        assertArrayEquals(new double[] {0.9, 0.99}, args.numbers("betas", new double[2]));
        assertEquals(1e-8, args.number("eps", 0));
        assertTrue(args.bool("decouple", false));
        assertEquals(null, args.optionalNumber("d0"));
        assertEquals(3.0, args.number("n", 0));
        assertEquals("betas=(0.9, 0.99),eps=1e-08,decouple=True,d0=None,name=x,n=3", args.describe());
        assertThrows(IllegalArgumentException.class, () -> args.rejectUnused("Test"));
    }
}
