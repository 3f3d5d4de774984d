package dev.kiln.model.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Dataset config validation and resolution, against library/config_util.py (ConfigSanitizer schemas,
 * validate_flex_dataset, BlueprintGenerator.search_value) and the dataset constructors in train_util.py.
 * The argument map stands for train_network.py's argparse defaults where a test needs them.
 */
class DatasetConfigParserTest {
    /** train_network.py argparse defaults for the dataset options (kohya-behaviour.md §13). */
    static Map<String, Object> argparseDefaults() {
        Map<String, Object> a = new HashMap<>();
        a.put("train_batch_size", 1L);
        a.put("dataset_repeats", 1L);
        a.put("min_bucket_reso", 256L);
        a.put("max_bucket_reso", 1024L);
        a.put("bucket_reso_steps", 64L);
        a.put("enable_bucket", false);
        a.put("bucket_no_upscale", false);
        a.put("caption_extension", ".caption");
        a.put("caption_separator", ",");
        a.put("keep_tokens", 0L);
        a.put("keep_tokens_separator", "");
        a.put("shuffle_caption", false);
        a.put("token_warmup_min", 1L);
        a.put("token_warmup_step", 0L);
        a.put("caption_dropout_rate", 0.0);
        a.put("validation_split", 0.0);
        return a;
    }

    static String resource(String name) {
        try (InputStream in = DatasetConfigParserTest.class.getResourceAsStream("/dataset/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<DatasetBlueprint> parse(String toml) {
        return DatasetConfigParser.parseDatasetConfig(toml, "dataset.toml", argparseDefaults(),
                DatasetConfigParser.Options.SD).explicitDatasets();
    }

    private static ConfigException invalid(String toml) {
        return assertThrows(ConfigException.class, () -> parse(toml));
    }

    @Test
    void docsBasicExampleResolvesLikeSdScripts() {
        List<DatasetBlueprint> datasets = parse(resource("docs-example-basic.toml"));
        assertEquals(2, datasets.size());
        DatasetBlueprint db = datasets.get(0);
        assertEquals(DatasetKind.DREAMBOOTH, db.kind());
        assertEquals(512, db.params().width());
        assertEquals(512, db.params().height());
        assertEquals(4, db.params().batchSize());
        // the comments of the example say which level each keep_tokens comes from
        assertEquals(List.of(2, 3, 1), db.subsets().stream().map(SubsetParams::keepTokens).toList());
        assertEquals(List.of(false, false, true), db.subsets().stream().map(SubsetParams::isReg).toList());
        assertEquals("hoge girl", db.subsets().get(0).classTokens());
        assertEquals("C:\\hoge", db.subsets().get(0).imageDir());
        for (SubsetParams s : db.subsets()) {
            assertTrue(s.shuffleCaption(), "[general] shuffle_caption reaches every subset");
            assertEquals(".txt", s.captionExtension());
            assertEquals(1, s.numRepeats(), "num_repeats falls back to --dataset_repeats");
        }
        DatasetBlueprint ft = datasets.get(1);
        assertEquals(DatasetKind.FINETUNE, ft.kind());
        assertEquals(768, ft.params().width());
        assertEquals(2, ft.params().batchSize());
        assertEquals(1, ft.subsets().get(0).keepTokens(), "keep_tokens = 1 from [general]");
        assertEquals("C:\\piyo\\piyo_md.json", ft.subsets().get(0).metadataFile());
        assertNull(ft.subsets().get(0).captionExtension(), "fine-tuning subsets have no caption_extension");
    }

    @Test
    void docsSameDirectoryInTwoDatasetsIsAllowed() {
        List<DatasetBlueprint> datasets = parse(resource("docs-example-same-dir.toml"));
        assertEquals(2, datasets.size());
        assertEquals(512, datasets.get(0).params().width());
        assertEquals(768, datasets.get(1).params().width());
        assertEquals(datasets.get(0).subsets().get(0).imageDir(), datasets.get(1).subsets().get(0).imageDir());
    }

    @Test
    void docsSeparatorExampleResolvesEveryLevel() {
        DatasetBlueprint d = parse(resource("docs-example-separators.toml")).get(0);
        assertEquals(1024, d.params().width(), "resolution from [general]");
        assertEquals(6, d.params().batchSize());
        assertTrue(d.params().enableBucket());
        assertTrue(d.params().bucketNoUpscale());
        SubsetParams s = d.subsets().get(0);
        assertTrue(s.flipAug());
        assertFalse(s.colorAug());
        assertEquals("|||", s.keepTokensSeparator());
        assertEquals(";;;", s.secondarySeparator());
        assertTrue(s.enableWildcard());
        assertEquals(0.1, s.captionTagDropoutRate());
        assertEquals("1girl, hatsune miku, vocaloid |||", s.captionPrefix());
        assertEquals(", anime screencap ||| masterpiece, rating: general", s.captionSuffix());
    }

    @Test
    void explicitFalseAndZeroAtALowerLevelOverride() {
        // search_value skips only None: false and 0 written in a subset win over true/2 above
        SubsetParams s = parse("""
                [general]
                shuffle_caption = true
                [[datasets]]
                resolution = 512
                keep_tokens = 2
                  [[datasets.subsets]]
                  image_dir = "a"
                  shuffle_caption = false
                  keep_tokens = 0
                """).get(0).subsets().get(0);
        assertFalse(s.shuffleCaption());
        assertEquals(0, s.keepTokens());
    }

    @Test
    void argumentsFillWhatNoTableGives() {
        Map<String, Object> args = argparseDefaults();
        args.put("train_batch_size", 3L);
        args.put("dataset_repeats", 7L);
        args.put("resolution", new int[] {640, 448});
        args.put("caption_extension", ".txt");
        DatasetBlueprint d = DatasetConfigParser.parseDatasetConfig("""
                [[datasets]]
                  [[datasets.subsets]]
                  image_dir = "a"
                """, "d.toml", args, DatasetConfigParser.Options.SD).explicitDatasets().get(0);
        assertEquals(3, d.params().batchSize(), "batch_size <- --train_batch_size");
        assertEquals(7, d.subsets().get(0).numRepeats(), "num_repeats <- --dataset_repeats");
        assertEquals(640, d.params().width());
        assertEquals(448, d.params().height());
        assertEquals(".txt", d.subsets().get(0).captionExtension());
    }

    @Test
    void captionExtensionGetsItsDot() {
        SubsetParams s = parse("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "a"
                  caption_extension = "txt"
                """).get(0).subsets().get(0);
        assertEquals(".txt", s.captionExtension());
    }

    @Test
    void classTokensAreAcceptedAboveSubsets() {
        // the schema puts class_tokens in DB_SUBSET_ASCENDABLE_SCHEMA although the docs call it subset-only
        SubsetParams s = parse("""
                [general]
                class_tokens = "sks dog"
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "a"
                """).get(0).subsets().get(0);
        assertEquals("sks dog", s.classTokens());
    }

    @Test
    void unknownKeyIsNamedWithItsTable() {
        ConfigException e = invalid("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "a"
                  num_repeat = 3
                """);
        assertEquals("num_repeat", e.key());
        assertEquals("datasets[0].subsets[0]", e.table());
        assertTrue(e.getMessage().contains("num_repeats"), "lists the allowed keys: " + e.getMessage());
    }

    @Test
    void datasetKeyInASubsetIsRefused() {
        ConfigException e = invalid("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "a"
                  batch_size = 2
                """);
        assertEquals("batch_size", e.key());
        assertEquals("datasets[0].subsets[0]", e.table());
    }

    @Test
    void subsetOnlyKeysAreRefusedAbove() {
        assertEquals("image_dir", invalid("""
                [general]
                image_dir = "a"
                """).key());
        ConfigException e = invalid("""
                [[datasets]]
                resolution = 512
                is_reg = true
                  [[datasets.subsets]]
                  image_dir = "a"
                """);
        assertEquals("is_reg", e.key());
        assertEquals("datasets[0]", e.table());
    }

    @Test
    void fineTuningDatasetRefusesDreamBoothKeysAtDatasetLevel() {
        ConfigException e = invalid("""
                [[datasets]]
                resolution = 512
                caption_extension = ".txt"
                  [[datasets.subsets]]
                  metadata_file = "md.json"
                """);
        assertEquals("caption_extension", e.key());
        assertEquals("datasets[0]", e.table());
    }

    @Test
    void typesFollowVoluptuous() {
        assertEquals("batch_size", invalid("""
                [general]
                batch_size = 2.0
                """).key());
        // validation_split is typed float: an integer literal is refused
        ConfigException split = invalid("""
                [general]
                validation_split = 0
                """);
        assertEquals("validation_split", split.key());
        assertTrue(split.getMessage().contains("expected float"), split.getMessage());
        // caption_dropout_rate is Any(float, int): both work
        parse("""
                [general]
                caption_dropout_rate = 0
                [[datasets]]
                resolution = 512
                caption_tag_dropout_rate = 0.5
                  [[datasets.subsets]]
                  image_dir = "a"
                """);
        assertEquals("face_crop_aug_range", invalid("""
                [general]
                face_crop_aug_range = [1, 3]
                """).key());
        assertEquals("shuffle_caption", invalid("""
                [general]
                shuffle_caption = "yes"
                """).key());
        assertEquals("resolution", invalid("""
                [general]
                resolution = [512, 512, 512]
                """).key());
    }

    @Test
    void boolPassesAnIntFieldAsPythonDoes() {
        SubsetParams s = parse("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "a"
                  keep_tokens = true
                """).get(0).subsets().get(0);
        assertEquals(1, s.keepTokens());
    }

    @Test
    void mixingMetadataAndFolderSubsetsIsRefused() {
        ConfigException e = invalid("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "a"
                  [[datasets.subsets]]
                  metadata_file = "m.json"
                """);
        assertEquals("datasets[0]", e.table());
        assertEquals("metadata_file", e.key());
        assertTrue(e.getMessage().contains("cannot be mixed"));
    }

    @Test
    void dreamBoothSubsetWithoutImageDirIsRefused() {
        ConfigException e = invalid("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  num_repeats = 2
                """);
        assertEquals("image_dir", e.key());
        assertEquals("datasets[0].subsets[0]", e.table());
    }

    @Test
    void controlNetSubsetsAreNotSupported() {
        ConfigException e = invalid("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "a"
                  conditioning_data_dir = "c"
                """);
        assertEquals("conditioning_data_dir", e.key());
        assertTrue(e.getMessage().contains("not supported"));
    }

    @Test
    void unknownTopLevelKeyIsRefused() {
        assertEquals("dataset", invalid("""
                [[dataset]]
                resolution = 512
                """).key());
    }

    @Test
    void resolutionIsRequired() {
        ConfigException e = assertThrows(ConfigException.class, () -> DatasetConfigParser.parseDatasetConfig("""
                [[datasets]]
                  [[datasets.subsets]]
                  image_dir = "a"
                """, "d.toml", Map.of(), DatasetConfigParser.Options.SD));
        assertEquals("resolution", e.key());
    }

    @Test
    void bucketLimitsAreRoundedToStepsThenChecked() {
        // adjust_min_max_bucket_reso_by_steps: min rounded down, max rounded up
        DatasetParams p = parse("""
                [[datasets]]
                resolution = 512
                enable_bucket = true
                min_bucket_reso = 300
                max_bucket_reso = 1000
                  [[datasets.subsets]]
                  image_dir = "a"
                """).get(0).params();
        assertEquals(256, p.minBucketReso());
        assertEquals(1024, p.maxBucketReso());
        assertEquals("min_bucket_reso", invalid("""
                [[datasets]]
                resolution = 512
                enable_bucket = true
                min_bucket_reso = 640
                max_bucket_reso = 1024
                """).key());
        assertEquals("max_bucket_reso", invalid("""
                [[datasets]]
                resolution = [1024, 768]
                enable_bucket = true
                max_bucket_reso = 960
                """).key());
    }

    @Test
    void bucketStepsMustSuitTheModelFamily() {
        String toml = """
                [[datasets]]
                resolution = 512
                enable_bucket = true
                bucket_reso_steps = 32
                  [[datasets.subsets]]
                  image_dir = "a"
                """;
        assertEquals("bucket_reso_steps", invalid(toml).key());
        // SDXL trainers check divisibility by 32 (verify_bucket_reso_steps(32))
        DatasetConfigParser.parseDatasetConfig(toml, "d.toml", argparseDefaults(),
                new DatasetConfigParser.Options(true, true, true, 32));
        // without bucketing the steps are not used and not checked
        parse(toml.replace("enable_bucket = true", "enable_bucket = false"));
    }

    @Test
    void resizeInterpolationIsChecked() {
        ConfigException e = invalid("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "a"
                  resize_interpolation = "fancy"
                """);
        assertEquals("resize_interpolation", e.key());
        assertEquals("datasets[0].subsets[0]", e.table());
    }

    @Test
    void textualInversionHasNoCaptionDropout() {
        ConfigException e = assertThrows(ConfigException.class, () -> DatasetConfigParser.parseDatasetConfig("""
                [general]
                caption_dropout_rate = 0.1
                """, "d.toml", Map.of(), new DatasetConfigParser.Options(true, true, false, 64)));
        assertEquals("caption_dropout_rate", e.key());
    }

    @Test
    void syntaxErrorNamesTheFileAndLine() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> DatasetConfigParser.parseDatasetConfig("[general\n", "bad.toml", Map.of(),
                        DatasetConfigParser.Options.SD));
        assertEquals("bad.toml", e.table());
        assertTrue(e.getMessage().contains("line 1"), e.getMessage());
    }

    @Test
    void customAttributesAndFaceCropRangeResolve() {
        SubsetParams s = parse("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "a"
                  face_crop_aug_range = [2.0, 4.0]
                  custom_attributes = { weight = 2, tags = ["a", "b"], nested = { x = 1.5 } }
                """).get(0).subsets().get(0);
        assertArrayEquals(new double[] {2.0, 4.0}, s.faceCropAugRange());
        assertEquals(Map.of("weight", 2L, "tags", List.of("a", "b"), "nested", Map.of("x", 1.5)),
                s.customAttributes(), "plain maps and lists, ready for plan JSON");
    }
}
