package dev.kiln.captioning.tagger;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.Batchifier;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorContext;
import dev.kiln.captioning.tagger.TagResult.ScoredTag;
import dev.kiln.diffusion.image.ImageResize;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * A WD14-style image tagger (ONNX model + {@code selected_tags.csv}) run through DJL's OnnxRuntime engine, producing
 * the captions sd-scripts' {@code tag_images_by_wd14_tagger.py --onnx} writes. The model's input name, image size,
 * layout and batch size are read from the model. {@link #tag} is synchronized: one inference at a time.
 */
public final class WdTagger implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(WdTagger.class);

    private final Path modelFile;
    private final TagLabels labels;
    private final List<String> captionNames;
    private final TaggerOptions options;
    private final ModelSignature signature;
    private final int batchSize;
    private final Model model;
    private final Predictor<float[], float[][]> predictor;

    private WdTagger(Path modelFile, TagLabels labels, TaggerOptions options, ModelSignature signature, Model model) {
        this.modelFile = modelFile;
        this.labels = labels;
        this.captionNames = labels.captionNames(options);
        this.options = options;
        this.signature = signature;
        this.model = model;
        if (signature.fixedBatch() > 0 && signature.fixedBatch() != options.batchSize()) {
            LOG.warnf("tagger model %s has a fixed batch size of %d; using it instead of batch_size %d",
                    modelFile, signature.fixedBatch(), options.batchSize());
        }
        this.batchSize = signature.fixedBatch() > 0 ? signature.fixedBatch() : options.batchSize();
        this.predictor = model.newPredictor(new BatchTranslator());
    }

    /** The tags file sd-scripts expects beside a WD14 model. */
    public static final String TAGS_CSV = "selected_tags.csv";

    /** Loads a tagger whose {@value #TAGS_CSV} sits in the model's folder, as in a WD14 model repository. */
    public static WdTagger load(Path modelFile, TaggerOptions options) {
        Path folder = modelFile.toAbsolutePath().getParent();
        return load(modelFile, folder.resolve(TAGS_CSV), options);
    }

    /**
     * Loads and checks a tagger: the model must be a readable ONNX image-to-scores model and emit one score per
     * row of {@code tagsCsv}. Every error names the file at fault.
     */
    public static WdTagger load(Path modelFile, Path tagsCsv, TaggerOptions options) {
        if (!Files.isRegularFile(modelFile)) {
            throw new TaggerException("tagger model not found: " + modelFile);
        }
        TagLabels labels = TagLabels.read(tagsCsv);
        ModelSignature signature = ModelSignature.read(modelFile);
        if (signature.outputWidth() > 0 && signature.outputWidth() != labels.size()) {
            throw widthMismatch(modelFile, signature.outputWidth(), labels);
        }
        Model model = Model.newInstance("wd-tagger", "OnnxRuntime");
        try {
            model.load(modelFile);
            return new WdTagger(modelFile, labels, options, signature, model);
        } catch (IOException | MalformedModelException | RuntimeException e) {
            model.close();
            throw new TaggerException("tagger model " + modelFile + " cannot be loaded: " + e.getMessage(), e);
        }
    }

    private static TaggerException widthMismatch(Path modelFile, long width, TagLabels labels) {
        return new TaggerException("tagger model " + modelFile + " outputs " + width + " scores per image but "
                + labels.file() + " lists " + labels.size() + " tags");
    }

    /** The square side the model takes (from its input shape; 448 when dynamic). */
    public int imageSize() {
        return signature.imageSize();
    }

    /** Images per inference: the model's fixed batch size, or the configured one. */
    public int batchSize() {
        return batchSize;
    }

    /** The options this tagger was loaded with. */
    public TaggerOptions options() {
        return options;
    }

    /**
     * The image as the model sees it before the float conversion: transparency over white, centred on a white
     * square, resized to {@link #imageSize()}. Tagging the prepared image gives the same result as tagging the
     * original; callers that hold many images keep only these small copies.
     */
    public BufferedImage prepare(BufferedImage image) {
        int size = signature.imageSize();
        return ImageResize.resize(TaggerImages.padToSquare(image), size, size);
    }

    /** Tags the images in batches of {@link #batchSize()}; results are in input order. */
    public synchronized List<TagResult> tag(List<BufferedImage> images) {
        int size = signature.imageSize();
        int perImage = size * size * 3;
        List<TagResult> results = new ArrayList<>(images.size());
        for (int start = 0; start < images.size(); start += batchSize) {
            int count = Math.min(batchSize, images.size() - start);
            // a fixed-batch model gets zero padding after the last image; those scores are dropped
            int rows = signature.fixedBatch() > 0 ? signature.fixedBatch() : count;
            float[] pixels = new float[rows * perImage];
            for (int i = 0; i < count; i++) {
                TaggerImages.write(images.get(start + i), size, signature.channelsLast(), pixels, i * perImage);
            }
            float[][] scores;
            try {
                scores = predictor.predict(pixels);
            } catch (TranslateException e) {
                if (e.getCause() instanceof TaggerException checked) {
                    throw checked;
                }
                throw new TaggerException("tagger model " + modelFile + " failed on a batch of " + rows + " images: "
                        + e.getMessage(), e);
            }
            for (int i = 0; i < count; i++) {
                results.add(toResult(scores[i]));
            }
        }
        return results;
    }

    /** Turns one image's scores into its tags, in sd-scripts' order (default {@code selected_tags.csv} format). */
    private TagResult toResult(float[] scores) {
        List<ScoredTag> tags = new ArrayList<>();
        int rating = -1;
        for (int i = 0; i < scores.length; i++) {
            TagCategory category = labels.labels().get(i).category();
            String name = captionNames.get(i);
            // float32 score against a double threshold, as numpy compares them
            double p = scores[i];
            if (category == TagCategory.GENERAL && p >= options.generalThreshold()
                    && !options.undesiredTags().contains(name)) {
                tags.add(new ScoredTag(name, category, scores[i]));
            } else if (category == TagCategory.CHARACTER && p >= options.characterThreshold()
                    && !options.undesiredTags().contains(name)) {
                // inserting one by one at the front reverses the character tags' relative order, as upstream
                tags.add(options.characterTagsFirst() ? 0 : tags.size(), new ScoredTag(name, category, scores[i]));
            } else if (category == TagCategory.RATING && (rating < 0 || scores[i] > scores[rating])) {
                rating = i; // argmax: first maximum wins
            }
        }
        if ((options.useRatingTags() || options.useRatingTagsAsLastTag()) && rating >= 0
                && !options.undesiredTags().contains(captionNames.get(rating))) {
            ScoredTag ratingTag = new ScoredTag(captionNames.get(rating), TagCategory.RATING, scores[rating]);
            tags.add(options.useRatingTags() ? 0 : tags.size(), ratingTag);
        }
        for (String first : options.alwaysFirstTags()) {
            for (int i = 0; i < tags.size(); i++) {
                if (tags.get(i).name().equals(first)) {
                    tags.add(0, tags.remove(i));
                    break;
                }
            }
        }
        String caption = String.join(options.captionSeparator(), tags.stream().map(ScoredTag::name).toList());
        return new TagResult(caption, tags);
    }

    @Override
    public void close() {
        predictor.close();
        model.close();
    }

    /** Batch of preprocessed pixels in, one score row per image out. */
    private final class BatchTranslator implements Translator<float[], float[][]> {

        @Override
        public NDList processInput(TranslatorContext ctx, float[] pixels) {
            int size = signature.imageSize();
            long rows = pixels.length / (3L * size * size);
            Shape shape = signature.channelsLast() ? new Shape(rows, size, size, 3) : new Shape(rows, 3, size, size);
            return new NDList(ctx.getNDManager().create(pixels, shape));
        }

        @Override
        public float[][] processOutput(TranslatorContext ctx, NDList list) {
            NDArray out = list.get(0);
            long[] shape = out.getShape().getShape();
            if (shape.length != 2) {
                throw new TaggerException("tagger model " + modelFile + " returned scores of shape "
                        + Arrays.toString(shape) + "; expected [batch, tags]");
            }
            if (shape[1] != labels.size()) {
                throw widthMismatch(modelFile, shape[1], labels);
            }
            float[] flat = out.toFloatArray();
            int width = (int) shape[1];
            float[][] rows = new float[(int) shape[0]][];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = Arrays.copyOfRange(flat, i * width, (i + 1) * width);
            }
            return rows;
        }

        @Override
        public Batchifier getBatchifier() {
            return null; // the input is already a whole batch
        }
    }
}
