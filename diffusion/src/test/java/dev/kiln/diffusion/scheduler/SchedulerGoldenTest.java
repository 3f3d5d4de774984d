package dev.kiln.diffusion.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.nn.GoldenTensors;
import dev.kiln.diffusion.nn.GoldenTensors.Captured;
import dev.kiln.diffusion.safetensors.SafeTensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The schedule tables, training math and single sampler steps against diffusers' {@code scheduler.safetensors}. */
class SchedulerGoldenTest {

    private static final String FILE = "scheduler.safetensors";

    @ParameterizedTest
    @ValueSource(strings = {"tiny-sd15", "tiny-sd2-vpred"})
    void tablesMatchDiffusersInFloat32AndFloat64(String configName) {
        Path folder = GoldenData.config(configName);
        NoiseSchedule schedule = NoiseSchedule.of(
                SchedulerConfig.read(folder.resolve("diffusers/scheduler_ddpm/scheduler_config.json")));
        List<String> failures = new ArrayList<>();
        try (GoldenTensors golden = new GoldenTensors(folder, FILE)) {
            check(golden, "betas", schedule.betas(), failures);
            check(golden, "alphas_cumprod", schedule.alphasCumprod(), failures);
            check(golden, "betas_f64", toFloat(schedule.betas64()), failures);
            check(golden, "alphas_cumprod_f64", toFloat(schedule.alphasCumprod64()), failures);
            check(golden, "snr", schedule.snr(), failures);
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-sd15", "tiny-sd2-vpred"})
    void addNoiseAndVelocityMatchDiffusers(String configName) {
        Path folder = GoldenData.config(configName);
        NoiseSchedule schedule = NoiseSchedule.of(
                SchedulerConfig.read(folder.resolve("diffusers/scheduler_ddpm/scheduler_config.json")));
        List<String> failures = new ArrayList<>();
        try (GoldenTensors golden = new GoldenTensors(folder, FILE);
             SafeTensors raw = SafeTensors.open(folder.resolve("golden/" + FILE));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray x0 = golden.load("add_noise.original_samples", manager);
            NDArray noise = golden.load("add_noise.noise", manager);
            long[] timesteps = raw.readLongs("add_noise.timesteps");
            check(golden, "add_noise.noisy_samples", schedule.addNoise(x0, noise, timesteps), failures);
            check(golden, "velocity", schedule.velocity(x0, noise, timesteps), failures);
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-sd15", "tiny-sd2-vpred"})
    void ddimStepMatchesDiffusers(String configName) {
        Path folder = GoldenData.config(configName);
        SchedulerConfig config = SchedulerConfig.read(folder.resolve("diffusers/scheduler/scheduler_config.json"));
        List<String> failures = new ArrayList<>();
        try (GoldenTensors golden = new GoldenTensors(folder, FILE);
             SafeTensors raw = SafeTensors.open(folder.resolve("golden/" + FILE));
             NDManager manager = NDManager.newBaseManager();
             Sampler ddim = Samplers.create("ddim", config, 4)) {
            long[] expectedTimesteps = raw.readLongs("ddim.timesteps");
            assertArrayEquals(expectedTimesteps, toLong(ddim.timesteps()), "DDIM leading timesteps");
            int step = indexOf(expectedTimesteps, raw.readLongs("ddim.t")[0]);
            StepResult result = ddim.step(golden.load("ddim.model_output", manager), step,
                    golden.load("ddim.sample", manager), (m, s) -> {
                        throw new AssertionError("DDIM with eta 0 draws no noise");
                    });
            check(golden, "ddim.prev_sample", result.prevSample(), failures);
            check(golden, "ddim.pred_original_sample", result.predOriginalSample(), failures);
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-sd15", "tiny-sd2-vpred"})
    void eulerAncestralStepMatchesDiffusersGivenItsNoise(String configName) {
        Path folder = GoldenData.config(configName);
        SchedulerConfig config = SchedulerConfig.read(
                folder.resolve("diffusers/scheduler_euler_ancestral/scheduler_config.json"));
        List<String> failures = new ArrayList<>();
        try (GoldenTensors golden = new GoldenTensors(folder, FILE);
             NDManager manager = NDManager.newBaseManager();
             Sampler sampler = Samplers.create("euler_a", config, 4)) {
            EulerSampler euler = (EulerSampler) sampler;
            float[] sigmas = new float[euler.steps() + 1];
            for (int i = 0; i < sigmas.length; i++) {
                sigmas[i] = euler.sigma(i);
            }
            check(golden, "euler_a.timesteps", toFloat(euler.timesteps()), failures);
            check(golden, "euler_a.sigmas", sigmas, failures);
            check(golden, "euler_a.init_noise_sigma", new float[] {euler.initNoiseSigma()}, failures);

            NDArray sample = golden.load("euler_a.sample", manager);
            check(golden, "euler_a.scaled_model_input", euler.scaleModelInput(sample, 0), failures);
            NDArray recorded = golden.load("euler_a.noise", manager);
            int[] draws = {0};
            StepResult result = euler.step(golden.load("euler_a.model_output", manager), 0, sample, (m, shape) -> {
                draws[0]++;
                assertEquals(recorded.getShape(), shape);
                return recorded.duplicate();
            });
            assertEquals(1, draws[0], "one noise draw per ancestral step");
            check(golden, "euler_a.prev_sample", result.prevSample(), failures);
            check(golden, "euler_a.pred_original_sample", result.predOriginalSample(), failures);
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    private static void check(GoldenTensors golden, String name, NDArray actual, List<String> failures) {
        String failure = golden.check(name, Captured.of(actual));
        if (failure != null) {
            failures.add(failure);
        }
    }

    private static void check(GoldenTensors golden, String name, float[] actual, List<String> failures) {
        String failure = golden.check(name, new Captured(new long[] {actual.length}, actual));
        if (failure != null) {
            failures.add(failure);
        }
    }

    private static int indexOf(long[] values, long wanted) {
        for (int i = 0; i < values.length; i++) {
            if (values[i] == wanted) {
                return i;
            }
        }
        throw new AssertionError("timestep " + wanted + " is not among the sampler's timesteps");
    }

    static float[] toFloat(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    static long[] toLong(double[] values) {
        long[] out = new long[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (long) values[i];
            assertEquals(out[i], values[i], 0.0, "timestep " + values[i] + " is not whole");
        }
        return out;
    }
}
