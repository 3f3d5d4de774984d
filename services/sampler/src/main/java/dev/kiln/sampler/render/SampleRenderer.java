package dev.kiln.sampler.render;

import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.lora.LoraNetwork;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.sampling.ImageGenerator;
import dev.kiln.diffusion.sampling.SamplePrompt;
import dev.kiln.diffusion.sampling.SamplePrompts;
import dev.kiln.diffusion.sampling.StepListener;
import dev.kiln.diffusion.sampling.TextToImage;
import dev.kiln.diffusion.scheduler.Samplers;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import java.awt.image.BufferedImage;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Renders sd-scripts prompt lines ({@code --n --w --h --d --s --l --ss}) with a base model and a checkpoint LoRA
 * applied as layer hooks at multiplier 1, as sd-scripts' sample_images does during training. Each prompt's outcome
 * is handed to the sink as soon as it is known, so images are stored and announced one by one.
 */
public final class SampleRenderer {
    private static final Logger LOG = Logger.getLogger(SampleRenderer.class);

    /** What became of prompt {@code index}. */
    public sealed interface Outcome permits Rendered, Refused {
        int index();
    }

    /**
     * @param seed the seed used: {@code --d}, else one derived from the checkpoint and the prompt index
     * @param givenSeed {@code --d}, or null (sd-scripts puts it in the file name only when given)
     */
    public record Rendered(int index, SamplePrompt prompt, BufferedImage image, long seed, Long givenSeed)
            implements Outcome {
    }

    /** A prompt that cannot be rendered; {@code reason} says why. */
    public record Refused(int index, String line, String reason) implements Outcome {
    }

    /** Receives each outcome in prompt order. */
    public interface Sink {
        void accept(Outcome outcome);
    }

    /**
     * @param defaultSampler sd-scripts' {@code sample_sampler} (null: DDIM)
     * @param clipSkip       kohya numbering, 1 = last layer
     * @param maxPixels      largest generated width × height a prompt may ask for
     */
    public record Settings(String defaultSampler, int clipSkip, long maxPixels) {
    }

    private final ImageGenerator generator;
    private final Settings settings;

    /**
     * @throws IllegalArgumentException naming the LoRA (by {@code loraSource}) or the tokenizer when they do not fit
     *                                  the model
     */
    public SampleRenderer(StableDiffusionModel model, ClipTokenizer tokenizer, String loraSource, LoraNetwork lora,
                          Settings settings) {
        this.generator = new ImageGenerator(model, tokenizer,
                List.of(new ImageGenerator.AppliedLora(loraSource, lora, 1f)), settings.clipSkip());
        this.settings = settings;
    }

    /**
     * Renders every line in order.
     *
     * @param seedBase mixed into the seed of prompts without {@code --d}: the same request renders the same images
     */
    public void render(List<String> lines, String seedBase, NDManager manager, Sink sink) {
        for (int i = 0; i < lines.size(); i++) {
            sink.accept(renderOne(i, lines.get(i), seedBase, manager));
        }
    }

    private Outcome renderOne(int index, String line, String seedBase, NDManager manager) {
        SamplePrompt p = SamplePrompts.parseLine(line);
        if (p.prompt().isBlank()) {
            return new Refused(index, line, "the prompt text is empty");
        }
        long pixels = (long) p.generatedWidth() * p.generatedHeight();
        if (pixels > settings.maxPixels()) {
            return new Refused(index, line, "--w " + p.width() + " --h " + p.height() + " is " + pixels
                    + " pixels, over the limit of " + settings.maxPixels() + " (kiln.sampler.max-pixels)");
        }
        String wanted = p.sampler() != null ? p.sampler() : settings.defaultSampler();
        if (wanted != null && !Samplers.isSupported(wanted)) {
            LOG.warnf("prompt %d: sampler '%s' is not one of %s; using %s as sd-scripts does", index, wanted,
                    Samplers.names(), Samplers.SD_SCRIPTS_DEFAULT);
        }
        // sd-scripts draws a random seed; a derived one keeps a redelivered request's images identical
        SamplePrompt request = p.resolved(settings.defaultSampler(), derivedSeed(seedBase, index));
        long seed = request.seed();
        try {
            TextToImage.Generated image = generator.generate(request, manager, StepListener.NONE);
            return new Rendered(index, request, image.image(), seed, p.seed());
        } catch (IllegalStateException | IllegalArgumentException e) {
            // a prompt the model's tokenizer cannot encode, options the model cannot take
            return new Refused(index, line, e.getMessage());
        }
    }

    /** A 32-bit seed (the range sd-scripts draws from) from the request and the prompt index. */
    static long derivedSeed(String seedBase, int index) {
        return Integer.toUnsignedLong((seedBase + "#" + index).hashCode());
    }
}
