package dev.kiln.diffusion.sampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.golden.GoldenCheckGroup;
import dev.kiln.diffusion.golden.GoldenConfig;
import dev.kiln.diffusion.golden.GoldenResults;
import dev.kiln.diffusion.image.ImageTensors;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.nn.GoldenTensors;
import dev.kiln.diffusion.nn.GoldenTensors.Captured;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.scheduler.NoiseSource;
import dev.kiln.diffusion.scheduler.PredictionType;
import dev.kiln.diffusion.scheduler.Sampler;
import dev.kiln.diffusion.scheduler.SchedulerConfig;
import dev.kiln.diffusion.scheduler.SchedulerGoldenChecks;
import dev.kiln.diffusion.scheduler.Samplers;
import dev.kiln.diffusion.textencoder.ClipTextModel;
import dev.kiln.diffusion.unet.UNet2DConditionModel;
import dev.kiln.diffusion.vae.AutoencoderKL;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Golden checks of {@code sampling.safetensors} through both model loading paths: the prompt conditioning from the
 * golden token ids, then diffusers' 4-step DDIM and Euler-a runs with classifier-free guidance on the tiny UNet (every
 * step's model input, both predictions, the guided prediction and the latents) and the VAE decode of the result.
 */
public class SamplingGoldenChecks implements GoldenCheckGroup {

    static final String FILE = "sampling.safetensors";
    static final List<String> INPUTS = List.of("input_ids", "input_ids_uncond", "initial_noise");
    /** Golden sampler runs (the tensor name prefix) and the diffusers scheduler folder each was made with. */
    static final Map<String, String> SCHEDULER_FOLDERS = Map.of("ddim", "scheduler",
            "euler_a", "scheduler_euler_ancestral");
    /** The noise Euler-a drew inside each step, replayed rather than compared. */
    static final String STEP_NOISE = ".step_noise";

    @Override
    public String name() {
        return "sampling";
    }

    @Override
    public void check(GoldenConfig config, GoldenResults results) {
        if (!config.hasGolden(FILE)) {
            return;
        }
        try (GoldenTensors golden = config.golden(FILE);
             SafeTensors raw = SafeTensors.open(config.folder().resolve("golden/" + FILE))) {
            INPUTS.forEach(input -> results.input(FILE, input));
            golden.names().stream().filter(n -> n.endsWith(STEP_NOISE)).forEach(n -> results.input(FILE, n));
            List<String> samplers = golden.names().stream().filter(n -> n.endsWith(".timesteps"))
                    .map(n -> n.substring(0, n.indexOf('.'))).toList();
            for (Map.Entry<String, StableDiffusionModel> path : config.models().entrySet()) {
                // a failure of one run is reported and the next run still goes
                try (NDManager manager = config.manager().newSubManager()) {
                    checkConditioning(config, path.getValue().textEncoder(), golden, manager, results, path.getKey());
                } catch (RuntimeException e) {
                    results.fail(path.getKey() + ", conditioning", e.toString());
                }
                for (String sampler : samplers) {
                    String label = path.getKey() + ", " + sampler;
                    try (NDManager manager = config.manager().newSubManager()) {
                        Map<String, Captured> captured = run(config, path.getValue(), sampler, golden, manager,
                                results, label);
                        for (String name : golden.names()) {
                            if (name.startsWith(sampler + ".") && !name.endsWith(STEP_NOISE)) {
                                results.check(FILE, name, label,
                                        SchedulerGoldenChecks.compare(golden, raw, name, captured.get(name)));
                            }
                        }
                    } catch (RuntimeException e) {
                        results.fail(label, e.toString());
                    }
                }
            }
        }
    }

    /** The text encoder's conditioning of the golden prompt and of the empty negative prompt. */
    private static void checkConditioning(GoldenConfig config, ClipTextModel textEncoder, GoldenTensors golden,
                                          NDManager manager, GoldenResults results, String label) {
        int clipSkip = config.parameters().path("clip_skip").asInt(1);
        NDArray prompt = textEncoder.encode(golden.load("input_ids", manager), clipSkip);
        NDArray negative = textEncoder.encode(golden.load("input_ids_uncond", manager), clipSkip);
        results.check(FILE, "prompt_embeds", label, golden.check("prompt_embeds", Captured.of(prompt)));
        results.check(FILE, "negative_prompt_embeds", label,
                golden.check("negative_prompt_embeds", Captured.of(negative)));
    }

    /**
     * One guided run as diffusers' pipeline makes it: the sampler from the config's scheduler file with the loaded
     * model's prediction type (a single file carries none), the golden conditioning (so the run is checked apart from
     * the text encoder), the golden initial noise and Euler-a's recorded step noise. Captures every golden value.
     */
    private static Map<String, Captured> run(GoldenConfig config, StableDiffusionModel model, String samplerName,
                                             GoldenTensors golden, NDManager manager, GoldenResults results,
                                             String label) {
        String folder = SCHEDULER_FOLDERS.get(samplerName);
        if (folder == null) {
            throw new IllegalStateException(FILE + " holds a run of sampler '" + samplerName
                    + "' with no known diffusers scheduler folder; expected one of " + SCHEDULER_FOLDERS.keySet());
        }
        SchedulerConfig schedulerConfig = SchedulerConfig.read(
                        config.diffusersFolder().resolve(folder).resolve("scheduler_config.json"))
                .withPredictionType(PredictionType.fromConfigName(model.predictionType()));
        int steps = config.parameters().path("num_inference_steps").asInt();
        float guidance = (float) config.parameters().path("guidance_scale").asDouble();
        String prefix = samplerName + ".";
        Map<String, Captured> captured = new TreeMap<>();
        UNet2DConditionModel unet = model.unet();
        AutoencoderKL vae = model.vae();
        // diffusers' pipeline hands the UNet one timestep value for the whole CFG batch
        Denoiser denoiser = (input, t, conditioning) ->
                unet.forward(input, input.getManager().create(new float[] {(float) t}), conditioning);
        int[] draws = {0};
        NoiseSource recordedStepNoise = (m, shape) -> {
            String name = prefix + "step" + draws[0]++ + STEP_NOISE;
            if (!golden.names().contains(name)) {
                throw new IllegalStateException(samplerName + " drew noise in step " + (draws[0] - 1)
                        + " but diffusers drew none (" + FILE + " has no " + name + ")");
            }
            return golden.load(name, m);
        };
        StepListener recorder = trace -> {
            String step = prefix + "step" + trace.step() + ".";
            captured.put(step + "latent_model_input", Captured.of(trace.latentModelInput()));
            captured.put(step + "noise_pred_uncond", Captured.of(trace.noisePredUncond()));
            captured.put(step + "noise_pred_text", Captured.of(trace.noisePredText()));
            captured.put(step + "noise_pred", Captured.of(trace.noisePred()));
            captured.put(step + "latents", Captured.of(trace.latents()));
        };
        try (Sampler sampler = Samplers.create(samplerName, schedulerConfig, steps)) {
            captured.put(prefix + "timesteps", SchedulerGoldenChecks.vector(sampler.timesteps()));
            NDArray latents = GuidedSampling.sample(denoiser, sampler, golden.load("prompt_embeds", manager),
                    golden.load("negative_prompt_embeds", manager), guidance,
                    golden.load("initial_noise", manager), recordedStepNoise, recorder);
            long expectedDraws = golden.names().stream()
                    .filter(n -> n.startsWith(prefix) && n.endsWith(STEP_NOISE)).count();
            if (draws[0] != expectedDraws) {
                results.fail(label, samplerName + " drew step noise " + draws[0] + " times, diffusers "
                        + expectedDraws + " times");
            }
            NDArray imageRaw = vae.decode(latents.div(vae.config().scalingFactor()));
            captured.put(prefix + "image_raw", Captured.of(imageRaw));
            captured.put(prefix + "image", Captured.of(ImageTensors.toUnitRange(imageRaw)));
        }
        return captured;
    }
}
