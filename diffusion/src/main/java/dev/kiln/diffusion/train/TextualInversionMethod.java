package dev.kiln.diffusion.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.embedding.EmbeddedText;
import dev.kiln.diffusion.embedding.Embedding;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.sampling.ImageGenerator;
import dev.kiln.diffusion.textencoder.ClipTextModel;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import dev.kiln.diffusion.train.optim.ParamGroup;
import dev.kiln.diffusion.train.save.ModelSpec;
import dev.kiln.diffusion.unet.UNet2DConditionModel;
import dev.kiln.model.job.JobSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * {@code train_textual_inversion.py} for SD 1.x / 2.x: {@code num_vectors_per_token} new tokens ({@code token_string},
 * {@code token_string1}, ...) after the vocabulary; the whole input-embedding table is the trained parameter (so
 * gradient clipping and the optimizer see what sd-scripts' do), and after every optimizer step the rows of the
 * original vocabulary are copied back from the model, which is itself never written: every other weight stays
 * bit-identical. Saves {@code {"emb_params": [n, dim]}} with modelspec metadata.
 */
public final class TextualInversionMethod implements TrainingMethod {

    /** train_textual_inversion.py's {@code imagenet_templates_small}. */
    public static final List<String> OBJECT_TEMPLATES = List.of("a photo of a {}", "a rendering of a {}",
            "a cropped photo of the {}", "the photo of a {}", "a photo of a clean {}", "a photo of a dirty {}",
            "a dark photo of the {}", "a photo of my {}", "a photo of the cool {}", "a close-up photo of a {}",
            "a bright photo of the {}", "a cropped photo of a {}", "a photo of the {}", "a good photo of the {}",
            "a photo of one {}", "a close-up photo of the {}", "a rendition of the {}", "a photo of the clean {}",
            "a rendition of a {}", "a photo of a nice {}", "a good photo of a {}", "a photo of the nice {}",
            "a photo of the small {}", "a photo of the weird {}", "a photo of the large {}", "a photo of a cool {}",
            "a photo of a small {}");

    /** train_textual_inversion.py's {@code imagenet_style_templates_small}. */
    public static final List<String> STYLE_TEMPLATES = List.of("a painting in the style of {}",
            "a rendering in the style of {}", "a cropped painting in the style of {}",
            "the painting in the style of {}", "a clean painting in the style of {}",
            "a dirty painting in the style of {}", "a dark painting in the style of {}", "a picture in the style of {}",
            "a cool painting in the style of {}", "a close-up painting in the style of {}",
            "a bright painting in the style of {}", "a cropped painting in the style of {}",
            "a good painting in the style of {}", "a close-up painting in the style of {}",
            "a rendition in the style of {}", "a nice painting in the style of {}",
            "a small painting in the style of {}", "a weird painting in the style of {}",
            "a large painting in the style of {}");

    private static final String TABLE_KEY = "token_embedding";

    private final DiffusionTrainer.Setup setup;
    private final JobSpec job;
    private final String token;
    private final int count;
    private final EmbeddedText text;
    private final NDArray frozenRows;
    private final NDArray table;
    private final NDArray sampleVectors;
    private final Map<String, List<String>> replacements;

    private TextualInversionMethod(DiffusionTrainer.Setup setup, JobSpec job, String token, NDArray initial,
                                   NDManager manager) {
        this.setup = setup;
        this.job = job;
        this.token = token;
        this.count = Math.toIntExact(initial.getShape().get(0));
        StableDiffusionModel model = setup.model();
        this.frozenRows = model.textEncoderWeights().get(EmbeddedText.TOKEN_EMBEDDING);
        Embedding start = new Embedding(token, initial);
        this.text = new EmbeddedText(model.textEncoderConfigJson(), model.textEncoderWeights(), setup.tokenizer(),
                List.of(start));
        // libtorch-owned (duplicate) so that in-place updates and gradients never touch a Java buffer
        NDArray joined = text.extendedTable();
        this.table = joined.duplicate();
        joined.close();
        table.attach(manager);
        table.setRequiresGradient(true);
        this.sampleVectors = initial.duplicate();
        sampleVectors.attach(manager);
        String replaceTo = start.replacement();
        if (job.flag("use_object_template") || job.flag("use_style_template")) {
            List<String> captions = new ArrayList<>();
            for (String t : job.flag("use_object_template") ? OBJECT_TEMPLATES : STYLE_TEMPLATES) {
                captions.add(t.replace("{}", replaceTo));
            }
            this.replacements = Map.of("", List.copyOf(captions));
        } else {
            this.replacements = count > 1 ? Map.of(token, List.of(replaceTo)) : Map.of();
        }
    }

    /**
     * The method of a textual_inversion job: token_string (required), num_vectors_per_token, the new rows
     * initialised from {@code init_word}'s embeddings (token i from init token {@code i mod len}) or, without one, to
     * the mean of the vocabulary's rows (transformers' {@code resize_token_embeddings} default), then replaced by
     * {@code weights} when given.
     *
     * @param root the folder {@code weights} is relative to
     */
    public static TextualInversionMethod create(DiffusionTrainer.Setup setup, JobSpec job, Path root,
                                                NDManager manager) {
        DiffusionTrainer.checkModel(setup);
        FullModelMethod.refuseGradientCheckpointing(job);
        String token = job.stringArgument("token_string");
        if (token == null || token.isBlank()) {
            throw new IllegalArgumentException("token_string: textual_inversion needs the token string to train");
        }
        int count = Math.toIntExact(job.intArgument("num_vectors_per_token", 1));
        if (count < 1) {
            throw new IllegalArgumentException("num_vectors_per_token must be at least 1, got " + count);
        }
        String saveAs = job.stringArgument("save_model_as");
        if (job.givenArguments().contains("save_model_as") && !"safetensors".equals(saveAs)) {
            throw new IllegalArgumentException("save_model_as = \"" + saveAs + "\": Kiln writes embeddings as"
                    + " safetensors only (pickled .pt/.ckpt files can run code); leave it unset or use \"safetensors\"");
        }
        StableDiffusionModel model = setup.model();
        NDArray base = model.textEncoderWeights().get(EmbeddedText.TOKEN_EMBEDDING);
        long dim = base.getShape().get(1);
        NDArray initial;
        try (NDScope scope = new NDScope()) {
            String initWord = job.stringArgument("init_word");
            if (initWord != null) {
                int[] ids = setup.tokenizer().encode(initWord);
                if (ids.length == 0) {
                    throw new IllegalArgumentException("init_word '" + initWord + "' gives no tokens");
                }
                long[] rows = new long[count];
                for (int i = 0; i < count; i++) {
                    rows[i] = ids[i % ids.length];
                }
                initial = base.get(manager.create(rows));
            } else {
                initial = base.mean(new int[] {0}, true).repeat(0, count);
            }
            String weights = job.stringArgument("weights");
            if (weights != null) {
                Path file = root.resolve(weights);
                if (!Files.isRegularFile(file)) {
                    throw new IllegalArgumentException("weights: " + file + " is not a file");
                }
                Embedding loaded = Embedding.load(file, manager);
                if (loaded.size() != count || loaded.dim() != dim) {
                    throw new IllegalArgumentException("weights: " + file + " holds " + loaded.vectors().getShape()
                            + ", this job trains [" + count + ", " + dim + "] (num_vectors_per_token)");
                }
                initial = loaded.vectors();
            }
            initial = initial.duplicate();
            NDScope.unregister(initial);
            initial.attach(manager);
        }
        return new TextualInversionMethod(setup, job, token, initial, manager);
    }

    /** The trained vectors as they are now, {@code [n, dim]} (an array the caller closes). */
    public NDArray vectors() {
        return table.get(new NDIndex("{}:", text.firstId())).duplicate();
    }

    /** The tokens this run adds. */
    public List<String> tokens() {
        return Embedding.tokens(token, count);
    }

    @Override
    public List<ParamGroup> parameterGroups(long step) {
        return List.of(new ParamGroup("textencoder", setup.settings().learningRate(), Map.of(TABLE_KEY, table)));
    }

    @Override
    public Map<String, NDArray> gradientTensors(long step) {
        return Map.of(TABLE_KEY, table);
    }

    @Override
    public Map<String, NDArray> stateTensors() {
        return Map.of(TABLE_KEY, table);
    }

    @Override
    public void restoreState(Map<String, NDArray> saved, Path dir) {
        TrainingState.copyInto(stateTensors(), saved, dir, "num_vectors_per_token or the model differ");
    }

    @Override
    public ClipTextModel textEncoder(long step, Random moduleDropout) {
        return text.textEncoder(table);
    }

    @Override
    public UNet2DConditionModel unet(Random moduleDropout) {
        return setup.model().unet();
    }

    @Override
    public ClipTokenizer tokenizer() {
        return text.tokenizer();
    }

    @Override
    public Map<String, List<String>> captionReplacements() {
        return replacements;
    }

    /** sd-scripts' {@code index_no_updates}: every row of the original vocabulary back to the model's value. */
    @Override
    public void afterOptimizerStep() {
        table.set(new NDIndex("0:{}", text.firstId()), frozenRows);
    }

    @Override
    public String fileExtension() {
        return "safetensors";
    }

    @Override
    public void save(Path file, SaveKind kind, long step, long epoch, double savedAt) {
        try (NDArray vectors = vectors()) {
            Embedding.save(file, vectors, setup.settings().savePrecision(),
                    ModelSpec.forTextualInversion(job, savedAt, ZoneId.systemDefault()));
        }
    }

    @Override
    public ImageGenerator sampler(int clipSkip, NDManager manager) {
        try (NDArray now = vectors()) {
            sampleVectors.set(now.toFloatArray());
        }
        return new ImageGenerator(setup.model(), setup.tokenizer(), List.of(),
                List.of(new Embedding(token, sampleVectors)), clipSkip);
    }

    /** The shape of the trained table (vocabulary + new rows). */
    Shape tableShape() {
        return table.getShape();
    }
}
