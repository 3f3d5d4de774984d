package dev.kiln.diffusion.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.image.ImageTensors;
import dev.kiln.diffusion.nn.GoldenTensors;
import dev.kiln.diffusion.nn.GoldenTensors.Captured;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.scheduler.NoiseSource;
import dev.kiln.diffusion.scheduler.Sampler;
import dev.kiln.diffusion.scheduler.SchedulerConfig;
import dev.kiln.diffusion.scheduler.Samplers;
import dev.kiln.diffusion.unet.UNet2DConditionModel;
import dev.kiln.diffusion.unet.UNetConfig;
import dev.kiln.diffusion.vae.AutoencoderKL;
import dev.kiln.diffusion.vae.VaeConfig;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Sampling with the real tiny UNet and VAE of the golden configs: the whole of diffusers' 4-step runs. */
class TinyModelSamplingTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({
        "tiny-sd15, ddim, scheduler",
        "tiny-sd15, euler_a, scheduler_euler_ancestral",
        "tiny-sd2-vpred, ddim, scheduler",
        "tiny-sd2-vpred, euler_a, scheduler_euler_ancestral"})
    void unetLoopAndDecodeReproduceDiffusers(String configName, String samplerName, String schedulerFolder) {
        Path folder = GoldenData.config(configName);
        SchedulerConfig config = SchedulerConfig.read(
                folder.resolve("diffusers/" + schedulerFolder + "/scheduler_config.json"));
        List<String> failures = new ArrayList<>();
        String p = samplerName + ".";
        try (NDManager manager = NDManager.newBaseManager();
             GoldenTensors golden = new GoldenTensors(folder, "sampling.safetensors");
             Sampler sampler = Samplers.create(samplerName, config, 4)) {
            Model model = Model.load(folder, manager);
            int[] draws = {0};
            NoiseSource recordedStepNoise = (m, shape) -> golden.load(p + "step" + (draws[0]++) + ".step_noise", m);
            StepListener checker = trace -> {
                String s = p + "step" + trace.step() + ".";
                check(golden, s + "noise_pred_uncond", trace.noisePredUncond(), failures);
                check(golden, s + "noise_pred_text", trace.noisePredText(), failures);
                check(golden, s + "latents", trace.latents(), failures);
            };
            NDArray latents = GuidedSampling.sample(model.denoiser(), sampler,
                    golden.load("prompt_embeds", manager), golden.load("negative_prompt_embeds", manager), 7.5f,
                    golden.load("initial_noise", manager), recordedStepNoise, checker);
            NDArray raw = model.vae.decode(latents.div(model.vae.config().scalingFactor()));
            check(golden, p + "image_raw", raw, failures);
            check(golden, p + "image", ImageTensors.toUnitRange(raw), failures);
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    @Test
    void textToImageIsReproducibleBySeedAndWritesPng() {
        // SD2 layout: its x8 VAE keeps the latents of the smallest allowed image (64 px) at 8x8
        Path folder = GoldenData.config("tiny-sd2-vpred");
        try (NDManager manager = NDManager.newBaseManager();
             GoldenTensors golden = new GoldenTensors(folder, "sampling.safetensors")) {
            Model model = Model.load(folder, manager);
            NDArray promptEmbeds = golden.load("prompt_embeds", manager);
            NDArray emptyEmbeds = golden.load("negative_prompt_embeds", manager);
            List<String> encoded = new ArrayList<>();
            TextToImage.PromptEncoder encoder = (text, m) -> {
                encoded.add(text);
                return (text.isEmpty() ? emptyEmbeds : promptEmbeds).duplicate();
            };
            TextToImage t2i = new TextToImage(model.denoiser(), encoder,
                    latents -> model.vae.decode(latents),
                    new TextToImage.LatentFormat(model.unet.config().inChannels(),
                            model.vae.config().downscaleFactor(), model.vae.config().scalingFactor()),
                    SchedulerConfig.kohya(true), "ddim");

            List<Integer> progress = new ArrayList<>();
            SamplePrompt prompt = SamplePrompts.parseLine("a prompt --w 64 --h 80 --s 2 --d 7 --ss euler_a");
            TextToImage.Generated first = t2i.generate(prompt, manager, trace -> progress.add(trace.step()));
            TextToImage.Generated again = t2i.generate(prompt, manager, StepListener.NONE);
            TextToImage.Generated other = t2i.generate(
                    SamplePrompts.parseLine("a prompt --w 64 --h 80 --s 2 --d 8 --ss euler_a"), manager,
                    StepListener.NONE);

            assertEquals(List.of(0, 1), progress);
            assertEquals(List.of("a prompt", "", "a prompt", "", "a prompt", ""), encoded,
                    "no negative prompt: the empty prompt conditions the unguided half");
            encoded.clear();
            assertEquals(7L, first.seed());
            assertEquals(64, first.image().getWidth());
            assertEquals(80, first.image().getHeight());
            assertTrue(samePixels(first.image(), again.image()), "same seed, same image");
            assertTrue(!samePixels(first.image(), other.image()), "another seed, another image");

            Path png = dir.resolve("sample.png");
            ImageTensors.writePng(first.image(), png);
            assertTrue(samePixels(first.image(), ImageTensors.read(png)));

            TextToImage.Generated random = t2i.generate(SamplePrompts.parseLine("a prompt --w 64 --h 64 --s 1 --l 1"),
                    manager, StepListener.NONE);
            assertNotEquals(null, random.image());
            assertEquals(List.of("a prompt"), encoded, "scale 1 runs without guidance");
            assertThrows(IllegalArgumentException.class, () -> t2i.generate(
                    SamplePrompts.parseLine("a prompt --ss plms"), manager, StepListener.NONE));
        }
    }

    private static boolean samePixels(BufferedImage a, BufferedImage b) {
        if (a.getWidth() != b.getWidth() || a.getHeight() != b.getHeight()) {
            return false;
        }
        for (int y = 0; y < a.getHeight(); y++) {
            for (int x = 0; x < a.getWidth(); x++) {
                if (a.getRGB(x, y) != b.getRGB(x, y)) {
                    return false;
                }
            }
        }
        return true;
    }

    private static void check(GoldenTensors golden, String name, NDArray actual, List<String> failures) {
        String failure = golden.check(name, Captured.of(actual));
        if (failure != null) {
            failures.add(failure);
        }
    }

    /** The tiny UNet and VAE of a golden config's diffusers folder. */
    private record Model(UNet2DConditionModel unet, AutoencoderKL vae) {

        static Model load(Path folder, NDManager manager) {
            Path unetDir = folder.resolve("diffusers/unet");
            Path vaeDir = folder.resolve("diffusers/vae");
            try (SafeTensors u = SafeTensors.open(unetDir.resolve("diffusion_pytorch_model.safetensors"));
                 SafeTensors v = SafeTensors.open(vaeDir.resolve("diffusion_pytorch_model.safetensors"))) {
                assertTrue(Files.isRegularFile(unetDir.resolve("config.json")));
                return new Model(new UNet2DConditionModel(UNetConfig.read(unetDir.resolve("config.json")),
                        u.loadAll(manager)),
                        new AutoencoderKL(VaeConfig.read(vaeDir.resolve("config.json")), v.loadAll(manager)));
            }
        }

        /** The UNet as a denoiser: one timestep value for the whole batch, as diffusers' pipeline passes it. */
        Denoiser denoiser() {
            return (input, t, conditioning) -> unet.forward(input,
                    input.getManager().create(new float[] {(float) t}), conditioning);
        }
    }
}
