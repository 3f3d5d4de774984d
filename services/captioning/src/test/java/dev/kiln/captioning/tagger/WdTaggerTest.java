package dev.kiln.captioning.tagger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.captioning.tagger.TagResult.ScoredTag;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the real ONNX colour tagger through DJL's OnnxRuntime engine. */
class WdTaggerTest {

    private static final int RED = 0xFF0000;
    private static final int GREEN = 0x00FF00;
    private static final int BLUE = 0x0000FF;
    private static final int WHITE = 0xFFFFFF;
    private static final int CYAN = 0x00FFFF;

    @TempDir
    Path dir;
    Path model;
    Path csv;

    @BeforeEach
    void writeTagger() throws IOException {
        model = ColourTagger.writeModel(dir.resolve("wd-tagger.onnx"), 32);
        csv = ColourTagger.writeCsv(dir.resolve("selected_tags.csv"), ColourTagger.TAGS);
    }

    private List<String> captions(TaggerOptions options, int... colours) {
        try (WdTagger tagger = WdTagger.load(model, csv, options)) {
            List<BufferedImage> images = java.util.Arrays.stream(colours).mapToObj(c -> solid(40, 40, c)).toList();
            return tagger.tag(images).stream().map(TagResult::caption).toList();
        }
    }

    private static BufferedImage solid(int width, int height, int rgb) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, rgb);
            }
        }
        return image;
    }

    @Test
    void tagsPngImagesByColourWithDefaultOptions() throws IOException {
        List<BufferedImage> images = new java.util.ArrayList<>();
        for (int colour : new int[] {RED, GREEN, BLUE, WHITE, CYAN}) {
            Path png = dir.resolve(Integer.toHexString(colour) + ".png");
            ImageIO.write(solid(60, 60, colour), "png", png.toFile());
            images.add(ImageIO.read(png.toFile()));
        }
        try (WdTagger tagger = WdTagger.load(model, TaggerOptions.defaults())) { // selected_tags.csv beside it
            assertEquals(32, tagger.imageSize(), "size comes from the model's input shape");
            List<TagResult> results = tagger.tag(images);
            assertEquals(List.of("red, mid_tone", "green, hatsune_miku", "blue, ganyu_(genshin_impact)",
                    "white_background, ^_^, mid_tone", "white_background, ^_^, hatsune_miku, ganyu_(genshin_impact)"),
                    results.stream().map(TagResult::caption).toList());

            // scores are the model's sigmoid outputs for the mean colour; categories come from the CSV
            TagResult red = results.get(0);
            assertEquals(List.of(TagCategory.GENERAL, TagCategory.GENERAL),
                    red.tags().stream().map(ScoredTag::category).toList());
            assertEquals(ColourTagger.tag("red").score(255, 0, 0), red.tags().get(0).score(), 1e-5);
            assertEquals(ColourTagger.tag("mid_tone").score(255, 0, 0), red.tags().get(1).score(), 1e-5);
            TagResult cyan = results.get(4);
            assertEquals(TagCategory.CHARACTER, cyan.tags().get(3).category());
            assertEquals(ColourTagger.tag("ganyu_(genshin_impact)").score(0, 255, 255), cyan.tags().get(3).score(), 1e-5);
        }
    }

    @Test
    void ratingAndIgnoredCategoriesAreLeftOutByDefault() {
        // "genshin_impact" (category 3) scores 0.99 on every image, and the ratings always have an argmax
        try (WdTagger tagger = WdTagger.load(model, csv, TaggerOptions.defaults())) {
            for (TagResult result : tagger.tag(List.of(solid(9, 9, RED), solid(9, 9, GREEN), solid(9, 9, WHITE)))) {
                assertTrue(result.tags().stream().allMatch(t -> t.category() != TagCategory.RATING), result.caption());
                assertTrue(!result.names().contains("genshin_impact"), result.caption());
            }
        }
    }

    @Test
    void dynamicImageSizeFallsBackTo448() throws IOException {
        model = ColourTagger.writeModel(dir.resolve("dynamic.onnx"), ColourTagger.TAGS, "batch", 0, true);
        try (WdTagger tagger = WdTagger.load(model, csv, TaggerOptions.defaults())) {
            assertEquals(448, tagger.imageSize());
            assertEquals("red, mid_tone", tagger.tag(List.of(solid(20, 20, RED))).get(0).caption());
        }
    }

    @Test
    void nonSquareImagesArePaddedWithWhite() {
        // 64x32 red, padded to 64x64 with white: half the rows are white, so the mean is R=255, G=B=127.5
        try (WdTagger tagger = WdTagger.load(model, csv, TaggerOptions.defaults())) {
            TagResult result = tagger.tag(List.of(solid(64, 32, RED))).get(0);
            assertEquals("white_background, ^_^, mid_tone", result.caption());
            assertEquals(ColourTagger.tag("white_background").score(255, 127.5, 127.5), result.tags().get(0).score(),
                    1e-5);
        }
    }

    @Test
    void transparentPixelsBecomeWhite() {
        BufferedImage clear = new BufferedImage(40, 40, BufferedImage.TYPE_INT_ARGB); // all 0x00000000
        try (WdTagger tagger = WdTagger.load(model, csv, TaggerOptions.defaults())) {
            assertEquals("white_background, ^_^, mid_tone", tagger.tag(List.of(clear)).get(0).caption());
        }
    }

    @Test
    void preparedImagesTagLikeTheOriginals() {
        // a non-square, half-transparent gradient: padding, alpha and the area resize all show in the mean colour
        BufferedImage gradient = new BufferedImage(90, 50, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 50; y++) {
            for (int x = 0; x < 90; x++) {
                gradient.setRGB(x, y, ((x < 45 ? 0x80 : 0xFF) << 24) | (x * 2 << 16) | (y * 5 << 8) | 40);
            }
        }
        try (WdTagger tagger = WdTagger.load(model, csv, TaggerOptions.builder().threshold(0).build())) {
            BufferedImage prepared = tagger.prepare(gradient);
            assertEquals(32, prepared.getWidth());
            assertEquals(32, prepared.getHeight());
            List<TagResult> results = tagger.tag(List.of(gradient, prepared));
            assertEquals(results.get(0).names(), results.get(1).names());
            for (int t = 0; t < results.get(0).tags().size(); t++) {
                assertEquals(results.get(0).tags().get(t).score(), results.get(1).tags().get(t).score(), 1e-6);
            }
        }
    }

    @Test
    void batchedResultsEqualSingleImageResults() {
        int[] colours = {RED, GREEN, BLUE, WHITE, CYAN};
        List<TagResult> single = tagAll(1, colours);
        for (int batch : new int[] {2, 8}) {
            List<TagResult> batched = tagAll(batch, colours);
            assertEquals(single.size(), batched.size());
            for (int i = 0; i < single.size(); i++) {
                assertEquals(single.get(i).names(), batched.get(i).names(), "image " + i + " at batch " + batch);
                for (int t = 0; t < single.get(i).tags().size(); t++) {
                    assertEquals(single.get(i).tags().get(t).score(), batched.get(i).tags().get(t).score(), 1e-6);
                }
            }
        }
    }

    private List<TagResult> tagAll(int batchSize, int... colours) {
        try (WdTagger tagger = WdTagger.load(model, csv, TaggerOptions.builder().batchSize(batchSize).build())) {
            assertEquals(batchSize, tagger.batchSize());
            return tagger.tag(java.util.Arrays.stream(colours).mapToObj(c -> solid(30, 50, c)).toList());
        }
    }

    @Test
    void fixedBatchModelOverridesBatchSizeAndPadsTheLastBatch() throws IOException {
        model = ColourTagger.writeModel(dir.resolve("fixed.onnx"), ColourTagger.TAGS, 2L, 32, true);
        try (WdTagger tagger = WdTagger.load(model, csv, TaggerOptions.builder().batchSize(4).build())) {
            assertEquals(2, tagger.batchSize());
            assertEquals(List.of("red, mid_tone", "green, hatsune_miku", "blue, ganyu_(genshin_impact)"),
                    tagger.tag(List.of(solid(8, 8, RED), solid(8, 8, GREEN), solid(8, 8, BLUE))).stream()
                            .map(TagResult::caption).toList());
        }
    }

    @Test
    void channelsFirstModelsAndOtherSizesAreReadFromTheModel() throws IOException {
        model = ColourTagger.writeModel(dir.resolve("nchw.onnx"), ColourTagger.TAGS, "N", 24, false);
        try (WdTagger tagger = WdTagger.load(model, csv, TaggerOptions.defaults())) {
            assertEquals(24, tagger.imageSize());
            // 10x20 cyan padded with white columns: mean R=127.5, G=B=255, so mid_tone (0.43) joins in
            assertEquals(List.of("red, mid_tone", "white_background, ^_^, mid_tone, hatsune_miku, ganyu_(genshin_impact)"),
                    tagger.tag(List.of(solid(50, 50, RED), solid(10, 20, CYAN))).stream()
                            .map(TagResult::caption).toList());
        }
    }

    @Test
    void generalAndCharacterThresholdsDefaultToThreshold() {
        // scores: red image red 0.9997, mid_tone 0.5548; cyan image white tags 0.5250, characters 0.9966
        assertEquals(List.of("red", "hatsune_miku, ganyu_(genshin_impact)"),
                captions(TaggerOptions.builder().threshold(0.56).build(), RED, CYAN));
        assertEquals(List.of("red, mid_tone", "white_background, ^_^, hatsune_miku, ganyu_(genshin_impact)"),
                captions(TaggerOptions.builder().threshold(0.56).generalThreshold(0.52).build(), RED, CYAN));
        assertEquals(List.of("red, mid_tone", "white_background, ^_^"),
                captions(TaggerOptions.builder().characterThreshold(1.1).build(), RED, CYAN),
                "a threshold above 1 disables a category");
    }

    @Test
    void undesiredTagsMatchTheFinalTagText() {
        assertEquals(List.of("white_background, mid_tone", "white_background, hatsune_miku"),
                captions(TaggerOptions.builder().undesiredTags("^_^", "ganyu_(genshin_impact)").build(), WHITE, CYAN));
        assertEquals(List.of("^_^, mid tone"), captions(TaggerOptions.builder().removeUnderscore(true)
                .undesiredTags(TaggerOptions.parseTagList("white background , ,", ", ").toArray(String[]::new))
                .build(), WHITE));
    }

    @Test
    void removeUnderscoreKeepsShortKaomoji() {
        assertEquals(List.of("white background, ^_^, mid tone", "green, hatsune miku"),
                captions(TaggerOptions.builder().removeUnderscore(true).build(), WHITE, GREEN));
    }

    @Test
    void tagReplacementAppliesAfterUnderscoreRemoval() {
        Map<String, String> replacements = TaggerOptions.parseTagReplacements("mid tone,half\\,tone;^_^,smile");
        assertEquals(List.of("white background, smile, half,tone"), captions(TaggerOptions.builder()
                .removeUnderscore(true).tagReplacements(replacements).build(), WHITE));
    }

    @Test
    void characterTagsFirstReversesThem() {
        assertEquals(List.of("ganyu_(genshin_impact), hatsune_miku, white_background, ^_^"),
                captions(TaggerOptions.builder().characterTagsFirst(true).build(), CYAN));
    }

    @Test
    void characterTagExpandSplitsTheSeries() {
        assertEquals(List.of("blue | ganyu | genshin impact"), captions(TaggerOptions.builder()
                .characterTagExpand(true).removeUnderscore(true).captionSeparator(" | ").build(), BLUE));
    }

    @Test
    void ratingTagIsTheArgmaxFirstOrLast() {
        assertEquals(List.of("sensitive, red, mid_tone", "general, green, hatsune_miku"),
                captions(TaggerOptions.builder().useRatingTags(true).build(), RED, GREEN));
        assertEquals(List.of("red, mid_tone, sensitive"),
                captions(TaggerOptions.builder().useRatingTagsAsLastTag(true).build(), RED));
        assertEquals(List.of("red, mid_tone"),
                captions(TaggerOptions.builder().useRatingTags(true).undesiredTags("sensitive").build(), RED));
    }

    @Test
    void alwaysFirstTagsMoveToTheFrontLastListedFirst() {
        assertEquals(List.of("mid_tone, ^_^, white_background", "mid_tone, red"),
                captions(TaggerOptions.builder().alwaysFirstTags("^_^", "mid_tone", "1girl").build(), WHITE, RED));
    }
}
