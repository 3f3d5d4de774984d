package dev.kiln.diffusion.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory hygiene of the training loop: over 1,000 optimizer steps after a warm-up the number of arrays held by the
 * run's manager stays constant, and the process's native memory (resident set minus the committed Java heap, which
 * the pom fixes and pre-touches for this test; sampled every 100 steps) does not keep growing. A leak grows with
 * every step, so it shows as a slope that persists: the Theil–Sen slope (median of the pairwise slopes) over the
 * second half of the run must stay under {@value #ALLOWED_TREND_MIB} MiB per 1,000 steps. One-time rises (an
 * allocator arena or kernel cache settling, measured at up to about 15 MiB once in a run) are bounded separately by
 * {@value #ALLOWED_RISE_MIB} MiB over the whole run. Runs in its own JVM (see the diffusion pom).
 */
class TrainingMemoryTest {

    /** Allocator pools settle during the first steps; the 1,000 measured steps follow. */
    private static final long WARM_UP = 200;
    private static final long STEPS = WARM_UP + 1000;
    private static final long SAMPLE_EVERY = 100;
    /** A leak of one small activation per step (16×16×32 floats, 32 KiB) adds about 31 MiB per 1,000 steps. */
    private static final long ALLOWED_TREND_MIB = 8;
    private static final long ALLOWED_RISE_MIB = 48;

    @TempDir
    Path root;

    @Test
    void nativeMemoryStaysFlatOverAThousandSteps() throws IOException {
        Path job = TinyTrainingFixture.writeRun(root, "memory", "max_train_steps = " + STEPS + "\n"
                + "network_dropout = 0.1\n");
        // 32² images → 16² latents and batch 1: small steps, so 1,000 of them stay affordable in CI
        Files.writeString(job, Files.readString(job).replace("resolution = 64", "resolution = 32")
                .replace("batch_size = 2", "batch_size = 1"));
        List<long[]> samples = new ArrayList<>(); // {step, native bytes, arrays}
        try (NDManager manager = NDManager.newBaseManager()) {
            LocalTraining.Prepared p = LocalTraining.prepare(
                    new LocalTraining.Options(job, root, root.resolve("tokenizer"), null), manager,
                    new TrainingListener() { });
            TrainingListener probe = new TrainingListener() {
                @Override
                public void step(StepReport r) {
                    if (r.step() >= WARM_UP && r.step() % SAMPLE_EVERY == 0) {
                        long[] m = measure(manager);
                        samples.add(new long[] {r.step(), m[0], m[1]});
                    }
                }
            };
            DiffusionTrainer.Result result = p.trainer().train(p.start(), RunOutputs.NONE, probe, TrainingControl.NONE,
                    manager);
            assertEquals(STEPS, result.steps());
        }
        StringBuilder report = new StringBuilder("native MiB / arrays by step:");
        for (long[] s : samples) {
            report.append(String.format(" %d: %.1f/%d", s[0], s[1] / 1048576.0, s[2]));
        }
        List<long[]> secondHalf = samples.subList(samples.size() / 2, samples.size());
        double trend = slope(secondHalf) * 1000 / 1048576.0;
        double rise = (samples.stream().mapToLong(x -> x[1]).max().orElseThrow() - samples.get(0)[1]) / 1048576.0;
        System.out.println(report + String.format("; trend %.1f MiB per 1000 steps over steps %d-%d, rise %.1f MiB",
                trend, secondHalf.get(0)[0], STEPS, rise));
        for (long[] s : samples) {
            assertEquals(samples.get(0)[2], s[2], "arrays held by the run's manager at step " + s[0] + "; " + report);
        }
        assertTrue(trend < ALLOWED_TREND_MIB, "native memory keeps growing: " + trend + " MiB per 1000 steps; " + report);
        assertTrue(rise < ALLOWED_RISE_MIB, "native memory rose by " + rise + " MiB; " + report);
    }

    /** Theil–Sen slope of native bytes over steps: the median of the slopes between every pair of samples. */
    private static double slope(List<long[]> samples) {
        List<Double> slopes = new ArrayList<>();
        for (int i = 0; i < samples.size(); i++) {
            for (int j = i + 1; j < samples.size(); j++) {
                slopes.add((double) (samples.get(j)[1] - samples.get(i)[1]) / (samples.get(j)[0] - samples.get(i)[0]));
            }
        }
        java.util.Collections.sort(slopes);
        int n = slopes.size();
        return n % 2 == 1 ? slopes.get(n / 2) : (slopes.get(n / 2 - 1) + slopes.get(n / 2)) / 2;
    }

    private static long[] measure(NDManager manager) {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        return new long[] {residentBytes() - rt.totalMemory(), manager.getManagedArrays().size()};
    }

    private static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
