package dev.kiln.cli.generate;

import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.embedding.Embedding;
import dev.kiln.diffusion.image.ImageTensors;
import dev.kiln.diffusion.lora.LoraNetwork;
import dev.kiln.diffusion.model.LoadOptions;
import dev.kiln.diffusion.model.StableDiffusionLoader;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.safetensors.SafeTensorsException;
import dev.kiln.diffusion.sampling.ImageGenerator;
import dev.kiln.diffusion.sampling.ProgressBar;
import dev.kiln.diffusion.sampling.SamplePrompt;
import dev.kiln.diffusion.sampling.TextToImage;
import dev.kiln.diffusion.scheduler.Samplers;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kiln generate}: one image from a Stable Diffusion 1.x/2.x model (diffusers folder or single-file
 * checkpoint, e.g. a DreamBooth or fine-tuning output) with optional kohya LoRAs and Textual Inversion embeddings
 * ({@code --embedding FILE}: the token is the file name without extension, as in sd-scripts' generation scripts), as
 * sd-scripts' sample images are made. Defaults are sd-scripts' sample
 * prompt defaults (512×512, 30 steps, scale 7.5, sampler ddim, random seed). Bad input exits with status 2 and a
 * message naming the flag or file; the progress bar goes to stderr and the written path to stdout.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate an image from a Stable Diffusion model, optionally with kohya LoRAs and embeddings.")
public final class GenerateCommand implements Callable<Integer> {
    /** Exit status for bad input (as picocli uses for usage errors). */
    public static final int INVALID_INPUT = 2;

    @Option(names = "--model", required = true, paramLabel = "FILE|DIR",
            description = "a diffusers folder (model_index.json) or a single-file .safetensors checkpoint")
    Path model;

    @Option(names = "--model-config", paramLabel = "DIR",
            description = "for a single file: a diffusers folder whose config.json files (and tokenizer/) define "
                    + "the architecture, when it differs from the Stable Diffusion defaults")
    Path modelConfig;

    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "a tokenizer folder (vocab.json + merges.txt, or tokenizer.json) replacing the model's")
    Path tokenizer;

    @Option(names = "--lora", paramLabel = "FILE[:MULT]", converter = LoraSpec.Converter.class,
            description = "a kohya LoRA and its multiplier (default 1.0); may repeat")
    List<LoraSpec> loras = new ArrayList<>();

    @Option(names = "--embedding", paramLabel = "FILE",
            description = "a Textual Inversion embedding (.safetensors, emb_params); its file name without extension"
                    + " is the token to write in the prompt; may repeat")
    List<Path> embeddings = new ArrayList<>();

    @Option(names = "--prompt", required = true, description = "the prompt (sd-scripts weighting: (word:1.2))")
    String prompt;

    @Option(names = "--negative", description = "the negative prompt")
    String negative;

    @Option(names = "--sampler", defaultValue = Samplers.SD_SCRIPTS_DEFAULT,
            description = "sampler name, sd-scripts' --sample_sampler names (default: ${DEFAULT-VALUE})")
    String sampler;

    @Option(names = "--steps", defaultValue = "" + SamplePrompt.DEFAULT_STEPS,
            description = "sampling steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--seed", description = "seed (default: random, printed)")
    Long seed;

    @Option(names = {"--w", "--width"}, defaultValue = "" + SamplePrompt.DEFAULT_SIZE,
            description = "width, rounded down to a multiple of 8, at least 64 (default: ${DEFAULT-VALUE})")
    int width;

    @Option(names = {"--h", "--height"}, defaultValue = "" + SamplePrompt.DEFAULT_SIZE,
            description = "height, rounded down to a multiple of 8, at least 64 (default: ${DEFAULT-VALUE})")
    int height;

    @Option(names = {"--cfg", "--scale"}, defaultValue = "" + SamplePrompt.DEFAULT_SCALE,
            description = "classifier-free guidance scale (default: ${DEFAULT-VALUE})")
    float cfg;

    @Option(names = "--clip-skip", defaultValue = "1",
            description = "kohya clip skip: 1 = last text-encoder layer (default), 2 = the one before, ...")
    int clipSkip;

    @Option(names = "--v2", description = "treat the model as SD 2.x (default: inferred)")
    Boolean v2;

    @Option(names = "--v-parameterization", description = "the model predicts v (default: inferred)")
    Boolean vParameterization;

    @Option(names = "--out", required = true, paramLabel = "FILE.png", description = "the PNG to write")
    Path out;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        String problem = checkArguments();
        if (problem != null) {
            err.println(problem);
            return INVALID_INPUT;
        }
        SamplePrompt request = new SamplePrompt(prompt, negative, width, height, seed, steps, cfg, sampler);
        if (request.generatedWidth() != width || request.generatedHeight() != height) {
            err.println("size " + width + "x" + height + " rounded to " + request.generatedWidth() + "x"
                    + request.generatedHeight() + " (a multiple of 8, at least 64, as sd-scripts does)");
        }
        TextToImage.Generated generated;
        try (NDManager manager = NDManager.newBaseManager()) {
            ImageGenerator generator;
            try {
                generator = load(manager);
            } catch (IllegalArgumentException | UncheckedIOException | SafeTensorsException e) {
                err.println(e.getMessage());
                return INVALID_INPUT;
            }
            err.flush();
            try {
                generated = generator.generate(request, manager, new ProgressBar(System.err, out.getFileName().toString()));
            } catch (IllegalStateException e) {
                // e.g. a prompt the model's tokenizer cannot encode: a message, not a stack trace
                err.println("generate failed: " + e.getMessage());
                return 1;
            }
        }
        ImageTensors.writePng(generated.image(), out);
        err.println("seed " + generated.seed());
        err.flush();
        spec.commandLine().getOut().println(out);
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** Checks what can be checked before loading anything; returns the problem, or null. */
    private String checkArguments() {
        if (!Samplers.isSupported(sampler)) {
            return "--sampler: unknown sampler '" + sampler + "'; supported: " + String.join(", ", Samplers.names());
        }
        if (steps < 1) {
            return "--steps must be at least 1, got " + steps;
        }
        if (width < 1 || height < 1) {
            return "--w and --h must be positive, got " + width + "x" + height;
        }
        if (!Files.exists(model)) {
            return "--model: " + model + " does not exist";
        }
        if (modelConfig != null && !Files.isDirectory(modelConfig)) {
            return "--model-config: " + modelConfig + " is not a folder";
        }
        if (tokenizer != null && !Files.isDirectory(tokenizer)) {
            return "--tokenizer: " + tokenizer + " is not a folder";
        }
        for (LoraSpec lora : loras) {
            if (!Files.isRegularFile(lora.file())) {
                return "--lora: " + lora.file() + " does not exist";
            }
        }
        for (Path embedding : embeddings) {
            if (!Files.isRegularFile(embedding)) {
                return "--embedding: " + embedding + " does not exist";
            }
        }
        if (out.getFileName() == null || !out.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) {
            return "--out: " + out + " must be a .png file";
        }
        return null;
    }

    private ImageGenerator load(NDManager manager) {
        LoadOptions options = LoadOptions.defaults();
        if (v2 != null) {
            options = options.withV2(v2);
        }
        if (vParameterization != null) {
            options = options.withVParameterization(vParameterization);
        }
        if (modelConfig != null) {
            options = options.withConfigFolder(modelConfig);
        }
        StableDiffusionModel loaded = StableDiffusionLoader.load(model, manager, options);
        List<ImageGenerator.AppliedLora> applied = new ArrayList<>();
        for (LoraSpec lora : loras) {
            applied.add(new ImageGenerator.AppliedLora(lora.file().toString(),
                    LoraNetwork.load(lora.file(), manager), lora.multiplier()));
        }
        List<Embedding> vectors = new ArrayList<>();
        for (Path embedding : embeddings) {
            try {
                vectors.add(Embedding.load(embedding, manager));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--embedding: " + e.getMessage(), e);
            }
        }
        ClipTokenizer words = tokenizer != null ? ClipTokenizer.fromFolder(tokenizer) : loaded.tokenizer();
        return new ImageGenerator(loaded, words, applied, vectors, clipSkip);
    }
}
