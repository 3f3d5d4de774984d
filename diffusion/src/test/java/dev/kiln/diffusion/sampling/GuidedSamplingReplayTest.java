package dev.kiln.diffusion.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.nn.GoldenTensors;
import dev.kiln.diffusion.nn.GoldenTensors.Captured;
import dev.kiln.diffusion.safetensors.DType;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.scheduler.NoiseSource;
import dev.kiln.diffusion.scheduler.Sampler;
import dev.kiln.diffusion.scheduler.SchedulerConfig;
import dev.kiln.diffusion.scheduler.Samplers;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CFG loop against diffusers' 4-step runs in {@code sampling.safetensors}, without the UNet: a replaying
 * denoiser hands back the recorded UNet outputs of each step, so every latent the loop computes is checked.
 */
class GuidedSamplingReplayTest {

    private static final float GUIDANCE = 7.5f;

    @ParameterizedTest
    @CsvSource({
        "tiny-sd15, ddim, scheduler",
        "tiny-sd15, euler_a, scheduler_euler_ancestral",
        "tiny-sd2-vpred, ddim, scheduler",
        "tiny-sd2-vpred, euler_a, scheduler_euler_ancestral"})
    void loopReproducesEveryRecordedStep(String configName, String samplerName, String schedulerFolder) {
        Path folder = GoldenData.config(configName);
        SchedulerConfig config = SchedulerConfig.read(
                folder.resolve("diffusers/" + schedulerFolder + "/scheduler_config.json"));
        List<String> failures = new ArrayList<>();
        try (GoldenTensors golden = new GoldenTensors(folder, "sampling.safetensors");
             SafeTensors raw = SafeTensors.open(folder.resolve("golden/sampling.safetensors"));
             NDManager manager = NDManager.newBaseManager();
             Sampler sampler = Samplers.create(samplerName, config, 4)) {
            NDArray prompt = golden.load("prompt_embeds", manager);
            NDArray negative = golden.load("negative_prompt_embeds", manager);
            NDArray expectedConditioning = NDArrays.concat(new NDList(negative, prompt), 0);

            float[] timesteps = new float[sampler.steps()];
            for (int i = 0; i < timesteps.length; i++) {
                timesteps[i] = (float) sampler.timestep(i);
            }
            String p = samplerName + ".";
            if (raw.info(p + "timesteps").dtype() == DType.I64) {
                assertArrayEquals(raw.readLongs(p + "timesteps"), toLongs(timesteps), "integer timesteps");
            } else {
                check(golden, p + "timesteps", new Captured(new long[] {timesteps.length}, timesteps), failures);
            }

            int[] calls = {0};
            Denoiser replay = (input, t, conditioning) -> {
                int i = calls[0]++;
                assertEquals(2, input.getShape().get(0), "CFG runs the model on a batch of two");
                assertEquals(timesteps[i], t, 1e-3, "timestep of step " + i);
                assertArrayEquals(expectedConditioning.toFloatArray(), conditioning.toFloatArray(),
                        "conditioning = [negative, prompt]");
                NDArray uncond = golden.load(p + "step" + i + ".noise_pred_uncond", manager);
                NDArray text = golden.load(p + "step" + i + ".noise_pred_text", manager);
                return NDArrays.concat(new NDList(uncond, text), 0);
            };
            int[] draws = {0};
            NoiseSource recordedStepNoise = (m, shape) ->
                    golden.load(p + "step" + (draws[0]++) + ".step_noise", m);
            StepListener recorder = trace -> {
                String s = p + "step" + trace.step() + ".";
                check(golden, s + "latent_model_input", Captured.of(trace.latentModelInput()), failures);
                check(golden, s + "noise_pred", Captured.of(trace.noisePred()), failures);
                check(golden, s + "latents", Captured.of(trace.latents()), failures);
            };

            NDArray latents = GuidedSampling.sample(replay, sampler, prompt, negative, GUIDANCE,
                    golden.load("initial_noise", manager), recordedStepNoise, recorder);

            assertEquals(4, calls[0]);
            assertEquals(samplerName.equals("euler_a") ? 4 : 0, draws[0], "step noise draws");
            check(golden, p + "step3.latents", Captured.of(latents), failures);
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    private static void check(GoldenTensors golden, String name, Captured actual, List<String> failures) {
        String failure = golden.check(name, actual);
        if (failure != null) {
            failures.add(failure);
        }
    }

    private static long[] toLongs(float[] values) {
        long[] out = new long[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (long) values[i];
        }
        return out;
    }
}
