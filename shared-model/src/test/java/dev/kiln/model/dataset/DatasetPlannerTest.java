package dev.kiln.model.dataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Planning against sd-scripts' dataset construction: DreamBoothDataset.__init__ (captions, skipped subsets,
 * regularization balancing), FineTuningDataset.__init__ (metadata captions), BaseDataset.make_buckets (samples
 * per bucket, batches) and train_network.py's step arithmetic. Expected numbers are the computed tables of
 * kohya-behaviour.md §5.1 and §5.4, which follow those functions.
 */
class DatasetPlannerTest {
    private static DatasetPlan plan(String toml, DatasetSource source, TrainingLength length) {
        DatasetConfig config = DatasetConfigParser.parseDatasetConfig(toml, "d.toml",
                DatasetConfigParserTest.argparseDefaults(), DatasetConfigParser.Options.SD);
        return DatasetPlanner.plan(config, source, length);
    }

    private static DatasetPlan plan(String toml, DatasetSource source) {
        return plan(toml, source, TrainingLength.DEFAULT);
    }

    private static String trainAndReg(int trainRepeats, int regRepeats, int batchSize) {
        return """
                [[datasets]]
                resolution = 512
                enable_bucket = true
                batch_size = %d
                  [[datasets.subsets]]
                  image_dir = "train"
                  num_repeats = %d
                  [[datasets.subsets]]
                  image_dir = "reg"
                  is_reg = true
                  num_repeats = %d
                """.formatted(batchSize, trainRepeats, regRepeats);
    }

    private static List<Integer> regRepeats(DatasetPlan plan) {
        List<Integer> out = new ArrayList<>();
        plan.datasets().get(0).images().stream().filter(DatasetPlan.Image::isReg).forEach(i -> out.add(i.repeats()));
        return out;
    }

    @Test
    void regularizationImagesAreBalancedAgainstTrainingSamples() {
        // kohya-behaviour.md §5.1, rows (train images, repeats) / (reg images, repeats)
        int[][] rows = {{20, 10, 100, 1}, {20, 10, 50, 1}, {20, 10, 300, 1}, {15, 3, 4, 2}, {10, 1, 3, 3}};
        List<List<Integer>> expected = List.of(
                java.util.Collections.nCopies(100, 2), java.util.Collections.nCopies(50, 4),
                java.util.Collections.nCopies(200, 1), List.of(12, 11, 11, 11), List.of(4, 3, 3));
        for (int r = 0; r < rows.length; r++) {
            int[] row = rows[r];
            MemorySource source = new MemorySource().images("train", row[0], 512, 512).images("reg", row[2], 512, 512);
            DatasetPlan plan = plan(trainAndReg(row[1], row[3], 1), source);
            assertEquals(expected.get(r), regRepeats(plan), "row " + r);
            DatasetPlan.Dataset d = plan.datasets().get(0);
            assertEquals((long) row[0] * row[1], d.numTrainImages());
            assertEquals((long) row[2] * row[3], d.numRegImages(), "metadata count is before balancing");
        }
    }

    @Test
    void workedExampleOfStepsAndBatches() {
        // kohya-behaviour.md §5.4: 12 square + 8 landscape training images ×10, 100 square reg images
        MemorySource source = new MemorySource().images("reg", 100, 512, 512);
        for (int i = 0; i < 20; i++) {
            source.image("train/" + i + ".png", i < 12 ? 512 : 640, i < 12 ? 512 : 480);
        }
        DatasetPlan plan = plan(trainAndReg(10, 1, 4), source, new TrainingLength(10, 1600, 2));
        DatasetPlan.Dataset d = plan.datasets().get(0);
        assertEquals(List.of(new DatasetPlan.Bucket(new Size(512, 512), 320),
                new DatasetPlan.Bucket(new Size(576, 448), 80)), d.buckets());
        assertEquals(100, d.batches());
        assertEquals(50, plan.stepsPerEpoch());
        assertEquals(500, plan.totalSteps(), "max_train_epochs 10 -> 10 × ceil(100 / 2)");
        assertEquals(10, plan.epochs());
        assertEquals(200, d.numTrainImages());
        assertEquals(100, d.numRegImages());

        DatasetPlan byDefault = plan(trainAndReg(10, 1, 4), source, new TrainingLength(null, 1600, 2));
        assertEquals(1600, byDefault.totalSteps());
        assertEquals(32, byDefault.epochs());

        DatasetPlan batch3 = plan(trainAndReg(10, 1, 3), source, TrainingLength.DEFAULT);
        assertEquals(134, batch3.datasets().get(0).batches(), "ceil(320/3) + ceil(80/3)");
    }

    @Test
    void captionsFollowTheSidecarRules() {
        MemorySource source = new MemorySource()
                .image("cats/a.png", 512, 512).text("cats/a.txt", "  first line, tags \nsecond line\n")
                .image("cats/b.jpg", 512, 512)
                .image("cats/c.webp", 512, 512).text("cats/c.txt", "\ufeffwith bom")
                .image("cats/d.png", 512, 512).text("cats/d.caption", "other extension is not read")
                .image("cats/e.png", 512, 512).text("cats/e.txt", "")
                .image("cats/face_0001_0002_0003_0004.png", 512, 512).text("cats/face.txt", "face crop caption");
        DatasetPlan plan = plan("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "cats"
                  caption_extension = ".txt"
                  class_tokens = "sks cat"
                """, source);
        Map<String, String> captions = new java.util.HashMap<>();
        plan.datasets().get(0).images().forEach(i -> captions.put(i.path(), i.caption()));
        assertEquals("first line, tags", captions.get("cats/a.png"));
        assertEquals("sks cat", captions.get("cats/b.jpg"), "no caption file: class tokens");
        assertEquals("with bom", captions.get("cats/c.webp"));
        assertEquals("sks cat", captions.get("cats/d.png"), "no .txt/.caption fallback");
        assertEquals("sks cat", captions.get("cats/e.png"), "an empty caption file falls back to class tokens");
        assertEquals("face crop caption", captions.get("cats/face_0001_0002_0003_0004.png"));
        assertTrue(plan.warnings().stream().anyMatch(w -> w.contains("No caption file found for 3 images")),
                plan.warnings().toString());
        // set_tag_frequency: captions split on ",", stripped, lower-cased, counted under the folder name
        Map<String, Integer> tags = plan.datasets().get(0).tagFrequency().get("cats");
        assertEquals(3, tags.get("sks cat"));
        assertEquals(1, tags.get("first line"));
        assertEquals(1, tags.get("with bom"));
        // registered in sorted path order
        List<String> paths = plan.datasets().get(0).images().stream().map(DatasetPlan.Image::path).toList();
        List<String> sorted = new ArrayList<>(paths);
        sorted.sort(null);
        assertEquals(sorted, paths);
    }

    @Test
    void wildcardCaptionsKeepEveryNonBlankLine() {
        MemorySource source = new MemorySource().image("x/a.png", 512, 512).text("x/a.caption", "one \n\n  two\n");
        DatasetPlan plan = plan("""
                [[datasets]]
                resolution = 512
                enable_wildcard = true
                  [[datasets.subsets]]
                  image_dir = "x"
                """, source);
        assertEquals("one\ntwo", plan.datasets().get(0).images().get(0).caption());
    }

    @Test
    void noCaptionAndNoClassTokensGivesAnEmptyCaption() {
        DatasetPlan plan = plan("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "x"
                """, new MemorySource().image("x/a.png", 512, 512));
        assertEquals("", plan.datasets().get(0).images().get(0).caption());
    }

    @Test
    void skippedAndDuplicatedSubsets() {
        MemorySource source = new MemorySource().images("a", 3, 512, 512).images("b", 2, 512, 512);
        DatasetPlan plan = plan("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "a"
                  num_repeats = 0
                  [[datasets.subsets]]
                  image_dir = "b"
                  num_repeats = 2
                  [[datasets.subsets]]
                  image_dir = "b"
                  num_repeats = 5
                  [[datasets.subsets]]
                  image_dir = "empty"
                """, source);
        DatasetPlan.Dataset d = plan.datasets().get(0);
        assertEquals(List.of(0, 2, 0, 0), d.subsetImageCounts());
        assertEquals(4, d.numTrainImages(), "only subset 1 counts: 2 images × 2");
        String warnings = String.join("\n", plan.warnings());
        assertTrue(warnings.contains("[datasets[0].subsets[0]] ignore subset: num_repeats is less than 1"), warnings);
        assertTrue(warnings.contains("[datasets[0].subsets[2]] ignore duplicated subset with image_dir='b'"), warnings);
        assertTrue(warnings.contains("[datasets[0].subsets[3]] ignore subset with image_dir='empty': no images found"),
                warnings);
    }

    @Test
    void legacyFoldersBecomeSubsets() {
        MemorySource source = new MemorySource()
                .images("train/10_sks dog", 2, 512, 512)
                .images("train/5_a_b", 1, 512, 512)
                .images("train/3", 1, 512, 512)
                .images("train/abc_x", 1, 512, 512)
                .images("train/0_x", 1, 512, 512)
                .images("reg/1_dog", 4, 512, 512);
        java.util.HashMap<String, Object> args = new java.util.HashMap<>(DatasetConfigParserTest.argparseDefaults());
        args.put("train_data_dir", "train");
        args.put("reg_data_dir", "reg");
        args.put("resolution", new int[] {512, 512});
        DatasetConfig config = DatasetConfigParser.fromTables(
                DatasetConfigParser.parseToml("", "job.toml"), args, DatasetConfigParser.Options.SD);
        assertTrue(config.isLegacy());
        DatasetPlan plan = DatasetPlanner.plan(config, source, TrainingLength.DEFAULT);
        List<SubsetParams> subsets = plan.datasets().get(0).subsets();
        assertEquals(List.of("train/10_sks dog", "train/3", "train/5_a_b", "reg/1_dog"),
                subsets.stream().map(SubsetParams::imageDir).toList());
        assertEquals(List.of(10, 3, 5, 1), subsets.stream().map(SubsetParams::numRepeats).toList());
        assertEquals(List.of("sks dog", "", "a_b", "dog"), subsets.stream().map(SubsetParams::classTokens).toList());
        assertEquals(List.of(false, false, false, true), subsets.stream().map(SubsetParams::isReg).toList());
        assertTrue(plan.warnings().stream().anyMatch(w -> w.contains("ignore directory without repeats: train/abc_x")));
        assertEquals(28, plan.datasets().get(0).numTrainImages(), "2×10 + 1×3 + 1×5");
    }

    @Test
    void fineTuningCaptionsComeFromMetadata() {
        MemorySource source = new MemorySource()
                .image("ft/a.png", 640, 480).image("ft/bb.png", 512, 512).image("ft/c.png", 300, 700)
                .text("ft/md.json", """
                        {"a.png": {"caption": "a cat", "tags": "cat, sitting"},
                         "bb.png": {"tags": "dog"},
                         "c.png": {"caption": "only caption", "image_size": [480, 640]}}
                        """);
        DatasetPlan plan = plan("""
                [[datasets]]
                resolution = 512
                enable_bucket = true
                  [[datasets.subsets]]
                  image_dir = "ft"
                  metadata_file = "ft/md.json"
                  num_repeats = 2
                """, source);
        DatasetPlan.Dataset d = plan.datasets().get(0);
        assertEquals(DatasetKind.FINETUNE, d.params().kind());
        List<DatasetPlan.Image> images = d.images();
        assertEquals("ft/bb.png", images.get(0).path(), "longest keys first");
        assertEquals("dog", images.get(0).caption());
        assertEquals("a cat,cat, sitting", images.get(1).caption(), "caption + separator + tags, no space added");
        assertEquals("only caption", images.get(2).caption());
        assertEquals(new Size(480, 640), images.get(2).size(), "image_size from metadata wins over the header");
        assertEquals(6, d.numTrainImages());
        // set_tag_frequency counts only the tags strings, under the metadata file's name
        assertEquals(Map.of("md.json", Map.of("cat", 1, "sitting", 1, "dog", 1)), d.tagFrequency());
    }

    @Test
    void fineTuningJsonlAndErrors() {
        MemorySource source = new MemorySource().image("ft/a.png", 512, 512)
                .text("ft/md.jsonl", "{\"image_path\": \"a.png\", \"caption\": \"x\", \"tags\": \"t\"}\n");
        DatasetPlan plan = plan("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "ft"
                  metadata_file = "ft/md.jsonl"
                """, source);
        assertEquals("x,t", plan.datasets().get(0).images().get(0).caption());
        ConfigException missing = assertThrows(ConfigException.class, () -> plan("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  metadata_file = "nope.json"
                """, source));
        assertEquals("metadata_file", missing.key());
        ConfigException relative = assertThrows(ConfigException.class, () -> plan("""
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  metadata_file = "ft/md.jsonl"
                """, source));
        assertEquals("image_dir", relative.key());
    }

    @Test
    void unbucketableAndHiddenImagesAreExcludedWithAReason() {
        MemorySource source = new MemorySource().image("x/tiny.png", 50, 40).image("x/ok.png", 800, 600)
                .image("x/.hidden.png", 512, 512).image("x/broken.png", 0, 0);
        DatasetPlan plan = plan("""
                [[datasets]]
                resolution = 512
                enable_bucket = true
                bucket_no_upscale = true
                  [[datasets.subsets]]
                  image_dir = "x"
                """, source);
        DatasetPlan.Dataset d = plan.datasets().get(0);
        assertEquals(List.of("x/ok.png"), d.images().stream().map(DatasetPlan.Image::path).toList());
        assertEquals(new Size(512, 384), d.images().get(0).bucket().bucket(), "§4.5: 800x600 no_upscale -> 512x384");
        assertEquals(3, d.excluded().size());
        assertTrue(d.excluded().stream().anyMatch(e -> e.path().equals("x/tiny.png") && e.reason().contains("bucket")));
        assertTrue(d.excluded().stream().anyMatch(e -> e.path().equals("x/.hidden.png")));
        assertTrue(d.excluded().stream().anyMatch(e -> e.path().equals("x/broken.png")));
    }

    @Test
    void planJsonHasTheDocumentedShape() throws Exception {
        MemorySource source = new MemorySource().image("x/a.png", 1920, 1080).text("x/a.txt", "cap");
        DatasetPlan plan = plan("""
                [general]
                caption_extension = ".txt"
                [[datasets]]
                resolution = 512
                enable_bucket = true
                  [[datasets.subsets]]
                  image_dir = "x"
                  num_repeats = 3
                """, source);
        com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(PlanJson.write(plan));
        com.fasterxml.jackson.databind.JsonNode d = json.get("datasets").get(0);
        assertEquals("dreambooth", d.get("type").asText());
        assertEquals("[512,512]", d.get("resolution").toString());
        assertEquals("x", d.get("subsets").get(0).get("image_dir").asText());
        assertEquals(3, d.get("subsets").get(0).get("num_repeats").asInt());
        assertEquals(".txt", d.get("subsets").get(0).get("caption_extension").asText());
        com.fasterxml.jackson.databind.JsonNode img = d.get("images").get(0);
        assertEquals("[640,384]", img.get("bucket").toString());
        assertEquals("[683,384]", img.get("resized").toString());
        assertEquals("[1920,1080]", img.get("size").toString());
        assertEquals("cap", img.get("caption").asText());
        assertEquals("[{\"reso\":[640,384],\"count\":3}]", d.get("buckets").toString());
        assertEquals(3, json.get("steps_per_epoch").asLong());
        assertEquals(1600, json.get("total_steps").asLong());
    }

    @Test
    void validationSplitKeepsTheTrainingPart() {
        // split_train_val: training = first ceil(n × (1 − split)) of the shuffled list; reg subsets are not split
        // (kohya-behaviour.md §1.7: n=10, 0.35 -> 7; n=7, 0.5 -> 4)
        int[][] rows = {{10, 35, 7}, {7, 50, 4}, {100, 10, 90}, {10, 25, 8}};
        for (int[] row : rows) {
            MemorySource source = new MemorySource().images("t", row[0], 512, 512).images("r", 3, 512, 512);
            DatasetPlan plan = plan("""
                    [[datasets]]
                    resolution = 512
                    validation_split = %s
                    validation_seed = 5
                      [[datasets.subsets]]
                      image_dir = "t"
                      [[datasets.subsets]]
                      image_dir = "r"
                      is_reg = true
                    """.formatted(row[1] / 100.0), source);
            DatasetPlan.Dataset d = plan.datasets().get(0);
            assertEquals(List.of(row[2], 3), d.subsetImageCounts(), "n=" + row[0]);
            assertEquals(row[0] - row[2], d.excluded().size());
            assertTrue(d.excluded().stream().allMatch(e -> e.path().startsWith("t/") && e.reason().contains("validation")));
        }
    }
}
