package dev.kiln.diffusion.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.model.StableDiffusionLoader;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.textencoder.ClipTextConfig;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import dev.kiln.diffusion.train.LocalTraining;
import dev.kiln.diffusion.train.DiffusionTrainer;
import dev.kiln.diffusion.train.TrainingListener;
import dev.kiln.diffusion.unet.UNetConfig;
import dev.kiln.diffusion.unet.UNetParameters;
import dev.kiln.model.dataset.BatchSchedule;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoubleSupplier;

/**
 * {@code kiln bench train-step}: milliseconds per LoRA training step (the engine's own step: captions, noise, text
 * encoder and UNet with LoRA hooks, loss, backward, global-norm clipping, AdamW) at batch 1 and 32×32 latents, for
 * the golden tiny-sd15 and for an SD1.5-shaped model with random weights (CLIP ViT-L text encoder, 860 M UNet), with
 * the forward pass alone timed in the same run and the ratio backward / forward printed (target: at most 2.5).
 *
 * <p>Options: {@code --golden-root DIR}, {@code --iterations N} (tiny, default 10), {@code --sd15-iterations N}
 * (default 3), {@code --skip-sd15}, {@code --network-dim N} (default 16).
 */
public final class TrainStepBenchmark {

    /** The target of issue 7: a backward pass costs at most 2.5 forward passes. */
    public static final double TARGET_RATIO = 2.5;

    private TrainStepBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        Path golden = null;
        int iterations = 10;
        int sd15Iterations = 3;
        boolean skipSd15 = false;
        int dim = 16;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--golden-root" -> golden = Path.of(value(args, ++i));
                case "--iterations" -> iterations = Integer.parseInt(value(args, ++i));
                case "--sd15-iterations" -> sd15Iterations = Integer.parseInt(value(args, ++i));
                case "--skip-sd15" -> skipSd15 = true;
                case "--network-dim" -> dim = Integer.parseInt(value(args, ++i));
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        golden = UnetBenchmark.findGoldenRoot(golden != null ? golden.toString() : System.getProperty("golden.root"));
        if (golden == null) {
            throw new IllegalArgumentException("no golden data found: pass --golden-root DIR (shared/golden)");
        }
        Path tiny = golden.resolve("tiny-sd15/diffusers").toAbsolutePath();
        Path root = Files.createTempDirectory("kiln-bench-train");
        SyntheticImages.write(root.resolve("datasets/bench/1_s c"), 2, 64, "s c, r d", 1);
        Path tokenizer = LetterTokenizer.write(root.resolve("tokenizer"));
        Path job = root.resolve("jobs/bench/job.toml");
        Files.createDirectories(job.getParent());
        // 64² images through the tiny x2 VAE: 32×32 latents, batch 1
        Files.writeString(job, "method = \"lora\"\npretrained_model_name_or_path = \"" + tiny.toString().replace("\\", "/")
                + "\"\nnetwork_dim = " + dim + "\nnetwork_alpha = 1\nlearning_rate = 0.0001\nseed = 1\n"
                + "caption_extension = \".txt\"\nmax_train_steps = 1000\n"
                + "[[datasets]]\nresolution = 64\nbatch_size = 1\n  [[datasets.subsets]]\n"
                + "  image_dir = \"datasets/bench/1_s c\"\n  class_tokens = \"s c\"\n", StandardCharsets.UTF_8);
        System.out.printf(Locale.ROOT, "kiln bench train-step: LoRA dim %d, batch 1, 32x32 latents, float32, %s %s, %d cores%n",
                dim, Engine.getInstance().getEngineName(), Engine.getInstance().getVersion(),
                Runtime.getRuntime().availableProcessors());
        try (NDManager manager = NDManager.newBaseManager()) {
            run("tiny-sd15", new LocalTraining.Options(job, root, tokenizer, null), null, iterations, manager);
            if (!skipSd15) {
                try (NDManager m = manager.newSubManager()) {
                    Engine.getInstance().setRandomSeed(0);
                    StableDiffusionModel base = StableDiffusionLoader.load(tiny, m);
                    ClipTextConfig te = ClipTextConfig.stableDiffusion1();
                    UNetConfig unet = UNetConfig.stableDiffusion15();
                    // the tiny VAE stays: it only caches the latents, which are 32×32 either way
                    StableDiffusionModel sd15 = new StableDiffusionModel(false, false, ClipTokenizer.sd1(),
                            te.toJson(), te.parameterShapes().random(m), UNetConfig.stableDiffusion15Json(),
                            UNetParameters.random(unet, m), base.vaeConfigJson(), base.vaeWeights(), null);
                    run("sd15-shaped (random weights)", new LocalTraining.Options(job, root, null, null), sd15,
                            sd15Iterations, m);
                }
            }
        }
        System.out.printf(Locale.ROOT, "peak RSS: %.2f GiB%n", UnetBenchmark.peakRssBytes() / (double) (1L << 30));
    }

    private static void run(String label, LocalTraining.Options options, StableDiffusionModel model, int iterations,
                            NDManager manager) {
        LocalTraining.Prepared p = LocalTraining.prepare(options, manager, new TrainingListener() { }, model);
        DiffusionTrainer trainer = p.trainer();
        BatchSchedule.Batch batch = new BatchSchedule(p.plan().datasets().get(0), 0, 1).epoch(1).get(0);
        long[] step = {0};
        trainer.forwardOnly(batch, manager); // warm-up of both paths
        trainer.stepOnce(batch, step[0]++, manager);
        double[] forward = time(iterations, () -> trainer.forwardOnly(batch, manager));
        double[] whole = time(iterations, () -> trainer.stepOnce(batch, step[0]++, manager));
        double fwd = forward[forward.length / 2];
        double all = whole[whole.length / 2];
        double ratio = (all - fwd) / fwd;
        System.out.printf(Locale.ROOT, "%s: forward min %.1f median %.1f ms; training step min %.1f median %.1f ms;"
                        + " backward+update / forward = %.2f (target <= %.1f: %s)%n", label, forward[0], fwd, whole[0],
                all, ratio, TARGET_RATIO, ratio <= TARGET_RATIO ? "met" : "NOT met");
    }

    private static double[] time(int n, DoubleSupplier body) {
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            long start = System.nanoTime();
            body.getAsDouble();
            ms[i] = (System.nanoTime() - start) / 1e6;
        }
        Arrays.sort(ms);
        return ms;
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            throw new IllegalArgumentException(args[i - 1] + " needs a value");
        }
        return args[i];
    }
}
