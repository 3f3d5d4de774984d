package dev.kiln.diffusion.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.kiln.diffusion.nn.FlopCounter;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.unet.UNet2DConditionModel;
import dev.kiln.diffusion.unet.UNetConfig;
import dev.kiln.diffusion.unet.UNetParameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code kiln bench unet}: milliseconds per UNet forward and forward+backward at batch 2 for the golden
 * tiny-sd15 UNet and for an SD1.5-shaped UNet with random weights, the achieved GFLOP/s (matmul-like FLOPs
 * counted per layer) and its ratio to this machine's fp32 matmul GFLOP/s measured in the same run, plus the
 * process's peak RSS.
 *
 * <p>Options: {@code --golden-root DIR} (default {@code -Dgolden.root}, else {@code shared/golden} or
 * {@code ../shared/golden}), {@code --latent N} (default 64), {@code --batch N} (2), {@code --iterations N}
 * (timed runs for tiny-sd15, default 15), {@code --sd15-iterations N} (default 3), {@code --skip-sd15},
 * {@code --skip-backward}, {@code --matmul N} (matmul size, default 1024), {@code --threads N} (PyTorch
 * intra-op threads; fewer than cores avoids OpenMP stalls on a shared, oversubscribed host).
 */
public final class UnetBenchmark {

    private UnetBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        Options o = Options.parse(args);
        if (o.threads > 0) { // must be set before the engine starts
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(o.threads));
        }
        System.out.printf(Locale.ROOT, "kiln bench unet: batch %d, latent %dx%d, float32, %s, %d cores, torch threads %s%n",
                o.batch, o.latent, o.latent, Engine.getInstance().getEngineName() + " "
                        + Engine.getInstance().getVersion(), Runtime.getRuntime().availableProcessors(),
                o.threads > 0 ? Integer.toString(o.threads) : "default");
        try (NDManager manager = NDManager.newBaseManager()) {
            double matmul = matmulGflops(manager, o.matmulSize);
            System.out.printf(Locale.ROOT, "matmul %d^3 fp32: %.1f GFLOP/s (best of 10)%n", o.matmulSize,
                    matmul);
            Path golden = o.goldenRoot();
            if (golden != null) {
                Path unetDir = golden.resolve("tiny-sd15/diffusers/unet");
                try (NDManager m = manager.newSubManager();
                     SafeTensors st = SafeTensors.open(unetDir.resolve("diffusion_pytorch_model.safetensors"))) {
                    UNetConfig config = UNetConfig.read(unetDir.resolve("config.json"));
                    run("tiny-sd15", new UNet2DConditionModel(config, st.loadAll(m)), m, o, o.iterations, matmul);
                }
            } else {
                System.out.println("tiny-sd15: skipped (no golden root found; pass --golden-root DIR)");
            }
            if (!o.skipSd15) {
                try (NDManager m = manager.newSubManager()) {
                    Engine.getInstance().setRandomSeed(0);
                    UNetConfig config = UNetConfig.stableDiffusion15();
                    Map<String, NDArray> weights = UNetParameters.random(config, m);
                    run("sd15-shaped (random weights)", new UNet2DConditionModel(config, weights), m, o,
                            o.sd15Iterations, matmul);
                }
            }
        }
        System.out.printf(Locale.ROOT, "peak RSS: %.2f GiB%n", peakRssBytes() / (double) (1L << 30));
    }

    private static void run(String label, UNet2DConditionModel unet, NDManager m, Options o, int iterations,
                            double matmulGflops) {
        UNetConfig c = unet.config();
        NDArray sample = m.randomNormal(new Shape(o.batch, c.inChannels(), o.latent, o.latent));
        NDArray context = m.randomNormal(new Shape(o.batch, 77, c.crossAttentionDim()[0]));
        NDArray t = m.create(new long[] {999}).broadcast(new Shape(o.batch)).duplicate();

        FlopCounter flops = new FlopCounter();
        unet.withFlopCounter(flops).forward(sample, t, context).close(); // also the warm-up
        double gflop = flops.total() / 1e9;
        System.out.printf(Locale.ROOT, "%s: %.1f M params, %.1f GFLOP per forward%n", label,
                UNetParameters.count(c) / 1e6, gflop);

        double[] fwd = time(iterations, () -> unet.forward(sample, t, context));
        report("  forward", fwd, gflop, matmulGflops);
        if (!o.skipBackward) {
            double[] both = time(iterations, () -> {
                NDArray x = sample.duplicate();
                x.setRequiresGradient(true);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    gc.backward(unet.forward(x, t, context).square().mean());
                }
                return x;
            });
            // frozen weights (as in LoRA training): backward computes input gradients only, ~1x forward FLOPs
            report("  forward+backward", both, 2 * gflop, matmulGflops);
        }
    }

    private static void report(String what, double[] ms, double gflop, double matmulGflops) {
        double best = ms[0];
        double median = ms[ms.length / 2];
        double rate = gflop / (best / 1000);
        System.out.printf(Locale.ROOT, "%s: min %.1f ms, median %.1f ms (%d runs); %.1f GFLOP/s = %.2f of matmul%n",
                what, best, median, ms.length, rate, rate / matmulGflops);
    }

    /** Sorted wall times (ms) of {@code n} runs; everything a run creates is closed after it. */
    private static double[] time(int n, Supplier<NDArray> body) {
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            try (NDScope scope = new NDScope()) {
                long start = System.nanoTime();
                body.get();
                ms[i] = (System.nanoTime() - start) / 1e6;
            }
        }
        Arrays.sort(ms);
        return ms;
    }

    /** The golden root: {@code given}, else {@code shared/golden} or {@code ../shared/golden}; null if none has the tiny model. */
    static Path findGoldenRoot(String given) {
        List<Path> candidates = given != null && !given.isBlank()
                ? List.of(Path.of(given)) : List.of(Path.of("shared/golden"), Path.of("../shared/golden"));
        for (Path p : candidates) {
            if (Files.isDirectory(p.resolve("tiny-sd15/diffusers/unet"))) {
                return p;
            }
        }
        return null;
    }

    /** Best-of-10 fp32 {@code n x n x n} matmul rate, in GFLOP/s. */
    static double matmulGflops(NDManager manager, int n) {
        try (NDManager m = manager.newSubManager()) {
            NDArray a = m.randomNormal(new Shape(n, n));
            NDArray b = m.randomNormal(new Shape(n, n));
            a.matMul(b).close();
            double[] ms = time(10, () -> a.matMul(b));
            return 2.0 * n * n * n / (ms[0] / 1000) / 1e9;
        }
    }

    /** Peak resident set size (VmHWM) of this process, or -1 when /proc is unavailable. */
    static long peakRssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    private static final class Options {
        String goldenRoot = System.getProperty("golden.root");
        int latent = 64;
        int batch = 2;
        int iterations = 15;
        int sd15Iterations = 3;
        int matmulSize = 1024;
        int threads;
        boolean skipSd15;
        boolean skipBackward;

        static Options parse(String[] args) {
            Options o = new Options();
            List<String> a = new ArrayList<>(List.of(args));
            for (int i = 0; i < a.size(); i++) {
                String arg = a.get(i);
                switch (arg) {
                    case "--skip-sd15" -> o.skipSd15 = true;
                    case "--skip-backward" -> o.skipBackward = true;
                    case "--golden-root" -> o.goldenRoot = value(a, ++i, arg);
                    case "--latent" -> o.latent = positive(a, ++i, arg);
                    case "--batch" -> o.batch = positive(a, ++i, arg);
                    case "--iterations" -> o.iterations = positive(a, ++i, arg);
                    case "--sd15-iterations" -> o.sd15Iterations = positive(a, ++i, arg);
                    case "--matmul" -> o.matmulSize = positive(a, ++i, arg);
                    case "--threads" -> o.threads = positive(a, ++i, arg);
                    default -> throw new IllegalArgumentException("kiln bench unet: unknown option '" + arg + "'");
                }
            }
            if (o.latent % 8 != 0) {
                throw new IllegalArgumentException("kiln bench unet: --latent must be a multiple of 8");
            }
            return o;
        }

        private static String value(List<String> a, int i, String option) {
            if (i >= a.size()) {
                throw new IllegalArgumentException("kiln bench unet: " + option + " needs a value");
            }
            return a.get(i);
        }

        private static int positive(List<String> a, int i, String option) {
            String v = value(a, i, option);
            try {
                int n = Integer.parseInt(v);
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException("kiln bench unet: " + option + " must be a positive integer, got '"
                    + v + "'");
        }

        Path goldenRoot() {
            return findGoldenRoot(goldenRoot);
        }
    }
}
