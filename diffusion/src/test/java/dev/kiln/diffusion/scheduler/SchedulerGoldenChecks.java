package dev.kiln.diffusion.scheduler;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.golden.GoldenCheckGroup;
import dev.kiln.diffusion.golden.GoldenConfig;
import dev.kiln.diffusion.golden.GoldenResults;
import dev.kiln.diffusion.nn.GoldenTensors;
import dev.kiln.diffusion.nn.GoldenTensors.Captured;
import dev.kiln.diffusion.safetensors.SafeTensors;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Golden checks of {@code scheduler.safetensors}: the float32 and float64 schedule tables, SNR, add_noise and the
 * v-prediction target (with the config's DDPM scheduler and with kohya's defaults, which single-file training uses),
 * then one DDIM step and one Euler-a step (with its recorded noise) with the config's sampler schedulers.
 */
public class SchedulerGoldenChecks implements GoldenCheckGroup {

    static final String FILE = "scheduler.safetensors";
    /** Tensors the checks consume: model inputs and the recorded Euler-a noise. */
    static final List<String> INPUTS = List.of("add_noise.original_samples", "add_noise.noise",
            "add_noise.timesteps", "ddim.sample", "ddim.model_output", "ddim.t", "euler_a.sample",
            "euler_a.model_output", "euler_a.noise");
    /** Tables and training math: the part of the file that does not depend on a sampler. */
    static final List<String> TRAINING = List.of("betas", "alphas_cumprod", "betas_f64", "alphas_cumprod_f64", "snr",
            "add_noise.noisy_samples", "velocity");
    /** Inference steps of the golden sampler runs (diffusers {@code set_timesteps(4)}). */
    static final int STEPS = 4;

    @Override
    public String name() {
        return "scheduler";
    }

    @Override
    public void check(GoldenConfig config, GoldenResults results) {
        if (!config.hasGolden(FILE)) {
            return;
        }
        SchedulerConfig ddpm = SchedulerConfig.read(config.diffusersFolder().resolve(
                "scheduler_ddpm/scheduler_config.json"));
        try (GoldenTensors golden = config.golden(FILE);
             SafeTensors raw = SafeTensors.open(config.folder().resolve("golden/" + FILE));
             NDManager manager = config.manager().newSubManager()) {
            INPUTS.forEach(input -> results.input(FILE, input));

            Map<String, Captured> diffusers = training(NoiseSchedule.of(ddpm), raw, golden, manager);
            SchedulerConfig ddimConfig = SchedulerConfig.read(config.diffusersFolder().resolve(
                    "scheduler/scheduler_config.json"));
            diffusers.putAll(ddimStep(ddimConfig, raw, golden, manager, results));
            SchedulerConfig eulerConfig = SchedulerConfig.read(config.diffusersFolder().resolve(
                    "scheduler_euler_ancestral/scheduler_config.json"));
            diffusers.putAll(eulerAncestralStep(eulerConfig, golden, manager, results));
            for (String name : golden.names()) {
                if (!INPUTS.contains(name)) {
                    results.check(FILE, name, "diffusers schedulers", compare(golden, raw, name, diffusers.get(name)));
                }
            }

            // kohya builds its training schedule from fixed defaults, not from a scheduler file
            Map<String, Captured> kohya = training(NoiseSchedule.of(SchedulerConfig.kohya(
                    ddpm.predictionType() == PredictionType.V_PREDICTION)), raw, golden, manager);
            for (String name : TRAINING) {
                results.check(FILE, name, "kohya schedule defaults", compare(golden, raw, name, kohya.get(name)));
            }
        }
    }

    /** The schedule tables, add_noise and velocity of one schedule on the golden inputs. */
    private static Map<String, Captured> training(NoiseSchedule schedule, SafeTensors raw, GoldenTensors golden,
                                                  NDManager manager) {
        Map<String, Captured> captured = new TreeMap<>();
        captured.put("betas", vector(schedule.betas()));
        captured.put("alphas_cumprod", vector(schedule.alphasCumprod()));
        captured.put("betas_f64", vector(schedule.betas64()));
        captured.put("alphas_cumprod_f64", vector(schedule.alphasCumprod64()));
        captured.put("snr", vector(schedule.snr()));
        NDArray x0 = golden.load("add_noise.original_samples", manager);
        NDArray noise = golden.load("add_noise.noise", manager);
        long[] timesteps = raw.readLongs("add_noise.timesteps");
        captured.put("add_noise.noisy_samples", Captured.of(schedule.addNoise(x0, noise, timesteps)));
        captured.put("velocity", Captured.of(schedule.velocity(x0, noise, timesteps)));
        return captured;
    }

    /** DDIM's timesteps and its eta-0 step from the recorded sample and model output at the recorded timestep. */
    private static Map<String, Captured> ddimStep(SchedulerConfig config, SafeTensors raw, GoldenTensors golden,
                                                  NDManager manager, GoldenResults results) {
        Map<String, Captured> captured = new TreeMap<>();
        try (Sampler ddim = Samplers.create("ddim", config, STEPS)) {
            double[] timesteps = ddim.timesteps();
            captured.put("ddim.timesteps", vector(timesteps));
            long t = raw.readLongs("ddim.t")[0];
            int step = Arrays.stream(timesteps).boxed().toList().indexOf((double) t);
            if (step < 0) {
                // the step outputs are then reported as not produced; the other checks still run
                results.fail("ddim", "golden ddim.t " + t + " is not among the DDIM timesteps "
                        + Arrays.toString(timesteps));
                return captured;
            }
            StepResult result = ddim.step(golden.load("ddim.model_output", manager), step,
                    golden.load("ddim.sample", manager), (m, shape) -> {
                        throw new IllegalStateException("DDIM with eta 0 must draw no noise");
                    });
            captured.put("ddim.prev_sample", Captured.of(result.prevSample()));
            captured.put("ddim.pred_original_sample", Captured.of(result.predOriginalSample()));
        }
        return captured;
    }

    /** Euler-a's timesteps, sigmas, input scaling and first step, fed the noise diffusers drew inside its step. */
    private static Map<String, Captured> eulerAncestralStep(SchedulerConfig config, GoldenTensors golden,
                                                            NDManager manager, GoldenResults results) {
        Map<String, Captured> captured = new TreeMap<>();
        try (Sampler sampler = Samplers.create("euler_a", config, STEPS)) {
            EulerSampler euler = (EulerSampler) sampler;
            float[] sigmas = new float[euler.steps() + 1];
            for (int i = 0; i < sigmas.length; i++) {
                sigmas[i] = euler.sigma(i);
            }
            captured.put("euler_a.timesteps", vector(euler.timesteps()));
            captured.put("euler_a.sigmas", vector(sigmas));
            captured.put("euler_a.init_noise_sigma", vector(new float[] {euler.initNoiseSigma()}));
            NDArray sample = golden.load("euler_a.sample", manager);
            captured.put("euler_a.scaled_model_input", Captured.of(euler.scaleModelInput(sample, 0)));
            NDArray recorded = golden.load("euler_a.noise", manager);
            int[] draws = {0};
            StepResult result = euler.step(golden.load("euler_a.model_output", manager), 0, sample, (m, shape) -> {
                draws[0]++;
                if (!shape.equals(recorded.getShape())) {
                    throw new IllegalStateException("Euler-a asked for noise of shape " + shape
                            + ", diffusers drew " + recorded.getShape());
                }
                return recorded.duplicate();
            });
            if (draws[0] != 1) {
                results.fail("euler_a", "an ancestral step must draw noise once, drew " + draws[0] + " times");
            }
            captured.put("euler_a.prev_sample", Captured.of(result.prevSample()));
            captured.put("euler_a.pred_original_sample", Captured.of(result.predOriginalSample()));
        }
        return captured;
    }

    /**
     * Compares one produced value with a golden tensor: integer goldens (timesteps) exactly, floating-point ones
     * with the manifest tolerances. Returns null on a match, else a failure line.
     */
    public static String compare(GoldenTensors golden, SafeTensors raw, String name, Captured actual) {
        if (actual == null || !raw.contains(name) || raw.info(name).dtype().isFloatingPoint()) {
            return golden.check(name, actual);
        }
        // same label as GoldenTensors' failures: <config>/golden/<file>
        Path file = raw.file();
        String label = file.getParent().getParent().getFileName() + "/golden/" + file.getFileName();
        long[] expected = raw.readLongs(name);
        long[] got = new long[actual.data().length];
        for (int i = 0; i < got.length; i++) {
            got[i] = (long) actual.data()[i];
            if (got[i] != actual.data()[i]) {
                return label + " " + name + ": value " + actual.data()[i] + " at " + i
                        + " is not a whole number; golden " + Arrays.toString(expected);
            }
        }
        if (!Arrays.equals(raw.info(name).shape(), actual.shape()) || !Arrays.equals(expected, got)) {
            return label + " " + name + ": " + Arrays.toString(got) + " shape "
                    + Arrays.toString(actual.shape()) + " != golden " + Arrays.toString(expected) + " shape "
                    + Arrays.toString(raw.info(name).shape());
        }
        return null;
    }

    /** A 1-D value as golden tensors hold it (float32). */
    public static Captured vector(float[] values) {
        return new Captured(new long[] {values.length}, values);
    }

    public static Captured vector(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) values[i];
        }
        return vector(out);
    }
}
