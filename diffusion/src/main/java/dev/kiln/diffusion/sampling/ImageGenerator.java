package dev.kiln.diffusion.sampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.embedding.EmbeddedText;
import dev.kiln.diffusion.embedding.Embedding;
import dev.kiln.diffusion.lora.LoraNetwork;
import dev.kiln.diffusion.lora.LoraTargets;
import dev.kiln.diffusion.lora.ModelPart;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.nn.LayerHook;
import dev.kiln.diffusion.scheduler.SchedulerConfig;
import dev.kiln.diffusion.textencoder.ClipTextModel;
import dev.kiln.diffusion.textencoder.LongPromptWeighting;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import dev.kiln.diffusion.unet.UNet2DConditionModel;
import dev.kiln.diffusion.vae.AutoencoderKL;
import java.util.ArrayList;
import java.util.List;

/**
 * Text-to-image with a loaded model and any number of kohya LoRAs, as sd-scripts' sample pipeline runs it:
 * LoRAs applied as layer hooks at their multipliers (sd-scripts' default, no weight merge), prompt and negative
 * prompt encoded together with prompt weighting and long-prompt chunks, the kohya noise schedule for the model's
 * prediction type.
 */
public final class ImageGenerator {

    private final ClipTokenizer tokenizer;
    private final ClipTextModel textEncoder;
    private final LayerHook textHook;
    private final EmbeddedText embedded;
    private final UNet2DConditionModel unet;
    private final AutoencoderKL vae;
    private final SchedulerConfig schedule;
    private final int clipSkip;

    /** A LoRA network loaded from a file, to apply at {@code multiplier}. */
    public record AppliedLora(String source, LoraNetwork network, float multiplier) {
    }

    /**
     * @param tokenizer the tokenizer to use (the model's own unless overridden)
     * @param loras     applied in order; each must fit the model
     * @param clipSkip  kohya numbering: 1 = last hidden state, k = final_layer_norm(hidden_states[-k])
     * @throws IllegalArgumentException naming the LoRA file or the tokenizer when they do not fit the model
     */
    public ImageGenerator(StableDiffusionModel model, ClipTokenizer tokenizer, List<AppliedLora> loras, int clipSkip) {
        this(model, tokenizer, loras, List.of(), clipSkip);
    }

    /**
     * As {@link #ImageGenerator(StableDiffusionModel, ClipTokenizer, List, int)} with Textual Inversion
     * {@code embeddings}: their tokens are added to the tokenizer, their vectors after the text encoder's table, and
     * each embedding's token in a prompt stands for all its vectors. The vectors are read at every image (a trainer
     * may update them in place between samples).
     */
    public ImageGenerator(StableDiffusionModel model, ClipTokenizer tokenizer, List<AppliedLora> loras,
                          List<Embedding> embeddings, int clipSkip) {
        int textVocabulary = model.textEncoderConfig().vocabSize();
        if (tokenizer.vocabSize() > textVocabulary) {
            // an id past the embedding table would crash inside the engine; say which part does not fit instead
            throw new IllegalArgumentException("the tokenizer has " + tokenizer.vocabSize()
                    + " token ids but the model's text encoder only " + textVocabulary
                    + ": give the model's own tokenizer folder (--tokenizer DIR)");
        }
        int layers = model.textEncoderConfig().numHiddenLayers();
        if (clipSkip < 1 || clipSkip > layers) {
            throw new IllegalArgumentException("--clip-skip must be between 1 and the text encoder's " + layers
                    + " layers, got " + clipSkip);
        }
        List<LayerHook> textHooks = new ArrayList<>();
        List<LayerHook> unetHooks = new ArrayList<>();
        for (AppliedLora lora : loras) {
            try {
                lora.network().checkFits(ModelPart.TEXT_ENCODER, LoraTargets.shapes(model.textEncoderWeights()));
                lora.network().checkFits(ModelPart.UNET, LoraTargets.shapes(model.unetWeights()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(lora.source() + ": " + e.getMessage(), e);
            }
            textHooks.add(lora.network().hook(ModelPart.TEXT_ENCODER, lora.multiplier()));
            unetHooks.add(lora.network().hook(ModelPart.UNET, lora.multiplier()));
        }
        this.textHook = chain(textHooks);
        this.embedded = embeddings.isEmpty() ? null
                : new EmbeddedText(model.textEncoderConfigJson(), model.textEncoderWeights(), tokenizer, embeddings);
        this.tokenizer = embedded == null ? tokenizer : embedded.tokenizer();
        this.textEncoder = model.textEncoder().withLayerHook(textHook);
        this.unet = model.unet().withLayerHook(chain(unetHooks));
        this.vae = model.vae();
        this.schedule = SchedulerConfig.kohya(model.vParameterization());
        this.clipSkip = clipSkip;
    }

    /** Every hook in turn; each LoRA adds its branch, computed from the layer's input, to the output so far. */
    private static LayerHook chain(List<LayerHook> hooks) {
        if (hooks.isEmpty()) {
            return LayerHook.NONE;
        }
        List<LayerHook> copy = List.copyOf(hooks);
        return (call, output) -> {
            NDArray result = output;
            for (LayerHook hook : copy) {
                result = hook.apply(call, result);
            }
            return result;
        };
    }

    /**
     * Generates one image; {@code prompt.sampler()} must be set. Arrays live in a sub-manager of {@code manager}
     * and are freed before returning.
     */
    public TextToImage.Generated generate(SamplePrompt prompt, NDManager manager, StepListener listener) {
        // grad mode is per thread and on by default in libtorch: inference on any thread records no graph
        ai.djl.pytorch.jni.JniUtils.setGradMode(false);
        if (embedded != null) {
            prompt = new SamplePrompt(embedded.rewrite(prompt.prompt()), embedded.rewrite(prompt.negativePrompt()),
                    prompt.width(), prompt.height(), prompt.seed(), prompt.steps(), prompt.scale(), prompt.sampler());
        }
        SamplePrompt request = prompt;
        try (NDManager scope = manager.newSubManager()) {
            ClipTextModel textEncoder = this.textEncoder;
            if (embedded != null) {
                // the extended table lives for this image only
                NDArray table = embedded.extendedTable();
                table.attach(scope);
                textEncoder = embedded.textEncoder(table).withLayerHook(textHook);
            }
            // sd-scripts' lpw pipeline encodes both prompts at once so they share one chunk count (same shapes)
            LongPromptWeighting.Embeddings embeddings = LongPromptWeighting.encode(textEncoder, tokenizer,
                    prompt.prompt(), prompt.negativePrompt(), clipSkip, LongPromptWeighting.DEFAULT_MAX_CHUNKS, scope);
            TextToImage.PromptEncoder encoder = (text, m) ->
                    text.equals(request.prompt()) ? embeddings.conditional() : embeddings.unconditional();
            Denoiser denoiser = (x, t, conditioning) ->
                    unet.forward(x, x.getManager().create(new float[] {(float) t}), conditioning);
            TextToImage textToImage = new TextToImage(denoiser, encoder, vae::decode,
                    new TextToImage.LatentFormat(unet.config().inChannels(), vae.config().downscaleFactor(),
                            vae.config().scalingFactor()),
                    schedule, prompt.sampler());
            return textToImage.generate(request, scope, listener);
        }
    }
}
