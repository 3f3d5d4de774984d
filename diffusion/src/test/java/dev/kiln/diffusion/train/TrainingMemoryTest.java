package dev.kiln.diffusion.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory hygiene of the training loop: over 1,000 optimizer steps the process's native memory (resident set minus
 * the committed Java heap) and the number of arrays held by the run's manager stay flat after a warm-up.
 */
class TrainingMemoryTest {

    private static final long STEPS = 1000;
    private static final long WARM_UP = 100;
    /** A leak of even one small activation per step (16×16×32 floats) would add 32 MiB over the run. */
    private static final long ALLOWED_GROWTH_BYTES = 48L << 20;

    @TempDir
    Path root;

    @Test
    void nativeMemoryStaysFlatOverAThousandSteps() throws IOException {
        Path job = TinyTrainingFixture.writeRun(root, "memory", "max_train_steps = " + STEPS + "\n"
                + "network_dropout = 0.1\n");
        // 32² images → 16² latents and batch 1: small steps, so 1,000 of them stay affordable in CI
        Files.writeString(job, Files.readString(job).replace("resolution = 64", "resolution = 32")
                .replace("batch_size = 2", "batch_size = 1"));
        long[] atWarmUp = new long[2];
        long[] atEnd = new long[2];
        try (NDManager manager = NDManager.newBaseManager()) {
            LocalTraining.Prepared p = LocalTraining.prepare(
                    new LocalTraining.Options(job, root, root.resolve("tokenizer"), null), manager,
                    new TrainingListener() { });
            TrainingListener probe = new TrainingListener() {
                @Override
                public void step(StepReport r) {
                    if (r.step() == WARM_UP) {
                        measure(manager, atWarmUp);
                    } else if (r.step() == STEPS) {
                        measure(manager, atEnd);
                    }
                }
            };
            LoraTrainer.Result result = p.trainer().train(p.start(), RunOutputs.NONE, probe, TrainingControl.NONE,
                    manager);
            assertEquals(STEPS, result.steps());
        }
        long growth = atEnd[0] - atWarmUp[0];
        System.out.printf("native memory: %.1f MiB at step %d, %.1f MiB at step %d; arrays %d -> %d%n",
                atWarmUp[0] / 1048576.0, WARM_UP, atEnd[0] / 1048576.0, STEPS, atWarmUp[1], atEnd[1]);
        assertEquals(atWarmUp[1], atEnd[1], "arrays held by the run's manager");
        assertTrue(growth < ALLOWED_GROWTH_BYTES, "native memory grew by " + growth / 1048576 + " MiB");
    }

    /** {native bytes, managed arrays}: RSS minus the committed heap, after a GC so freed buffers are returned. */
    private static void measure(NDManager manager, long[] into) {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        into[0] = residentBytes() - rt.totalMemory();
        into[1] = manager.getManagedArrays().size();
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
