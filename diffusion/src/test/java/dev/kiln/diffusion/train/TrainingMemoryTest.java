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
 * Memory hygiene of the training loop: over 1,000 optimizer steps the number of arrays held by the run's manager
 * stays constant after a warm-up, and the process's native memory (resident set minus the committed Java heap,
 * sampled every 100 steps) has no upward trend: the least-squares slope over the run must stay under a leak of
 * {@value #ALLOWED_GROWTH_MIB} MiB per 900 steps. A slope, not two end points, so that allocator noise (arenas
 * growing and shrinking) does not count as a leak while a per-step leak, which grows linearly, does. Runs in its
 * own JVM (see the diffusion pom).
 */
class TrainingMemoryTest {

    private static final long STEPS = 1000;
    private static final long WARM_UP = 100;
    private static final long SAMPLE_EVERY = 100;
    /** A leak of one small activation per step (16×16×32 floats, 32 KiB) adds about 28 MiB per 900 steps. */
    private static final long ALLOWED_GROWTH_MIB = 24;

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
            LoraTrainer.Result result = p.trainer().train(p.start(), RunOutputs.NONE, probe, TrainingControl.NONE,
                    manager);
            assertEquals(STEPS, result.steps());
        }
        StringBuilder report = new StringBuilder("native MiB / arrays by step:");
        for (long[] s : samples) {
            report.append(String.format(" %d: %.1f/%d", s[0], s[1] / 1048576.0, s[2]));
        }
        double slopeBytesPerStep = slope(samples);
        double growth900 = slopeBytesPerStep * (STEPS - WARM_UP) / 1048576.0;
        System.out.println(report + String.format("; trend %.1f MiB per %d steps", growth900, STEPS - WARM_UP));
        for (long[] s : samples) {
            assertEquals(samples.get(0)[2], s[2], "arrays held by the run's manager at step " + s[0] + "; " + report);
        }
        assertTrue(growth900 < ALLOWED_GROWTH_MIB, "native memory trend " + growth900 + " MiB; " + report);
    }

    /** Least-squares slope of native bytes over steps. */
    private static double slope(List<long[]> samples) {
        double n = samples.size();
        double mx = samples.stream().mapToDouble(s -> s[0]).sum() / n;
        double my = samples.stream().mapToDouble(s -> s[1]).sum() / n;
        double sxy = 0;
        double sxx = 0;
        for (long[] s : samples) {
            sxy += (s[0] - mx) * (s[1] - my);
            sxx += (s[0] - mx) * (s[0] - mx);
        }
        return sxy / sxx;
    }

    /** {native bytes, managed arrays}: RSS minus the committed heap, after a GC so freed buffers are returned. */
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
