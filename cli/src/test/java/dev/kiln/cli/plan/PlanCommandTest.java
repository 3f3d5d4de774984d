package dev.kiln.cli.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code kiln plan} on real PNG/JPEG/BMP files of mixed aspect ratios. Expected buckets and resized sizes are
 * the values of sd-scripts' BucketManager for resolution 512, 256..1024 step 64 (kohya-behaviour.md §4.5,
 * checked against the upstream code in shared-model's BucketingTest).
 */
class PlanCommandTest {
    @TempDir
    Path root;

    private record Run(int status, String out, String err) {}

    private Run plan(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new PlanCommand());
        cmd.setOut(new PrintWriter(out));
        cmd.setErr(new PrintWriter(err));
        int status = cmd.execute(args);
        return new Run(status, out.toString(), err.toString());
    }

    private void image(String path, int width, int height, String format) throws IOException {
        Path file = root.resolve(path);
        Files.createDirectories(file.getParent());
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        img.setRGB(width / 2, height / 2, 0xff8800);
        assertTrue(ImageIO.write(img, format, file.toFile()), "no writer for " + format);
    }

    private void text(String path, String content) throws IOException {
        Path file = root.resolve(path);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content, StandardCharsets.UTF_8);
    }

    private void dataset() throws IOException {
        image("datasets/cats/10_sks cat/landscape.png", 1920, 1080, "png");
        image("datasets/cats/10_sks cat/portrait.jpg", 480, 640, "jpg");
        image("datasets/cats/10_sks cat/square.bmp", 300, 300, "bmp");
        image("datasets/cats/10_sks cat/wide.png", 1234, 567, "png");
        text("datasets/cats/10_sks cat/landscape.txt", "sks cat, lying on a sofa\nignored second line\n");
        text("datasets/cats/10_sks cat/wide.txt", "\ufeff  sks cat, panorama  ");
        text("datasets/cats/10_sks cat/notes.md", "not an image");
        image("datasets/cats/reg/1_cat/r1.png", 512, 512, "png");
        image("datasets/cats/reg/1_cat/r2.png", 800, 600, "png");
    }

    private static final String JOB = """
            method = "lora"
            pretrained_model_name_or_path = "models/sd15.safetensors"
            caption_extension = ".txt"
            max_train_epochs = 4
            [general]
            enable_bucket = true
            [[datasets]]
            resolution = 512
            batch_size = 2
              [[datasets.subsets]]
              image_dir = "datasets/cats/10_sks cat"
              class_tokens = "sks cat"
              num_repeats = 10
              [[datasets.subsets]]
              image_dir = "datasets/cats/reg/1_cat"
              class_tokens = "cat"
              is_reg = true
            """;

    @Test
    void jsonPlanOfRealImagesGivesSdScriptsBuckets() throws Exception {
        dataset();
        text("jobs/cat-lora/job.toml", JOB);
        Run run = plan(root.resolve("jobs/cat-lora/job.toml").toString(), "--root", root.toString(), "--json");
        assertEquals(0, run.status(), run.err());
        JsonNode d = new ObjectMapper().readTree(run.out()).get("datasets").get(0);
        Map<String, JsonNode> images = new HashMap<>();
        d.get("images").forEach(i -> images.put(i.get("path").asText(), i));
        assertEquals(6, images.size());

        JsonNode landscape = images.get("datasets/cats/10_sks cat/landscape.png");
        assertEquals("[1920,1080]", landscape.get("size").toString());
        assertEquals("[640,384]", landscape.get("bucket").toString());
        assertEquals("[683,384]", landscape.get("resized").toString());
        assertEquals("sks cat, lying on a sofa", landscape.get("caption").asText());
        assertEquals(10, landscape.get("repeats").asInt());

        JsonNode portrait = images.get("datasets/cats/10_sks cat/portrait.jpg");
        assertEquals("[448,576]", portrait.get("bucket").toString());
        assertEquals("[448,597]", portrait.get("resized").toString());
        assertEquals("sks cat", portrait.get("caption").asText(), "no caption file: class tokens");

        JsonNode square = images.get("datasets/cats/10_sks cat/square.bmp");
        assertEquals("[512,512]", square.get("bucket").toString(), "300x300 is upscaled to 512x512");

        JsonNode wide = images.get("datasets/cats/10_sks cat/wide.png");
        assertEquals("[704,320]", wide.get("bucket").toString());
        assertEquals("[704,323]", wide.get("resized").toString());
        assertEquals("sks cat, panorama", wide.get("caption").asText());

        // 40 training samples balance 2 reg images: repeats 1,1 then round-robin up to 40 -> 20 each
        JsonNode r2 = images.get("datasets/cats/reg/1_cat/r2.png");
        assertEquals(20, r2.get("repeats").asInt());
        assertTrue(r2.get("is_reg").asBoolean());
        assertEquals("cat", r2.get("caption").asText());
        assertEquals(1, r2.get("subset").asInt());

        // buckets: 448x576:10, 512x512: 10 + 20, 576x448: 20, 640x384: 10, 704x320: 10
        assertEquals("[{\"reso\":[448,576],\"count\":10},{\"reso\":[512,512],\"count\":30},"
                + "{\"reso\":[576,448],\"count\":20},{\"reso\":[640,384],\"count\":10},"
                + "{\"reso\":[704,320],\"count\":10}]", d.get("buckets").toString());
        JsonNode plan = new ObjectMapper().readTree(run.out());
        // batches: 5 + 15 + 10 + 5 + 5 = 40; 4 epochs
        assertEquals(40, plan.get("steps_per_epoch").asInt());
        assertEquals(160, plan.get("total_steps").asInt());
        JsonNode subset0 = d.get("subsets").get(0);
        assertEquals(".txt", subset0.get("caption_extension").asText());
        assertEquals(10, subset0.get("num_repeats").asInt());
        assertEquals(false, subset0.get("shuffle_caption").asBoolean());
    }

    @Test
    void readableSummary() throws Exception {
        dataset();
        text("jobs/cat-lora/job.toml", JOB);
        Run run = plan(root.resolve("jobs/cat-lora/job.toml").toString(), "--root", root.toString());
        assertEquals(0, run.status(), run.err());
        assertTrue(run.out().contains("dataset 0 (dreambooth): resolution 512x512, batch size 2"), run.out());
        assertTrue(run.out().contains("512x512      30"), run.out());
        assertTrue(run.out().contains("steps: 40 per epoch, 160 in total (4 epochs)"), run.out());
    }

    @Test
    void datasetTomlAndLegacyJobFolders() throws Exception {
        dataset();
        text("dataset.toml", """
                [[datasets]]
                resolution = [512, 512]
                  [[datasets.subsets]]
                  image_dir = "datasets/cats/10_sks cat"
                  caption_extension = "txt"
                """);
        Run run = plan(root.resolve("dataset.toml").toString(), "--root", root.toString(), "--json");
        assertEquals(0, run.status(), run.err());
        JsonNode json = new ObjectMapper().readTree(run.out());
        JsonNode d = json.get("datasets").get(0);
        assertEquals(false, d.get("enable_bucket").asBoolean());
        assertEquals("[512,512]", d.get("images").get(0).get("bucket").toString(), "one bucket without bucketing");
        assertEquals(1600, json.get("total_steps").asInt(), "sd-scripts' default max_train_steps");

        // a job without [[datasets]] reads datasets/<job>/<N>_<class> folders
        image("datasets/dogs/5_sks dog/a.png", 640, 480, "png");
        text("jobs/dogs/job.toml", "pretrained_model_name_or_path = \"m.safetensors\"\nresolution = 512\n");
        Run legacy = plan(root.resolve("jobs/dogs/job.toml").toString(), "--root", root.toString(), "--json");
        assertEquals(0, legacy.status(), legacy.err());
        JsonNode subset = new ObjectMapper().readTree(legacy.out()).get("datasets").get(0).get("subsets").get(0);
        assertEquals("datasets/dogs/5_sks dog", subset.get("image_dir").asText());
        assertEquals(5, subset.get("num_repeats").asInt());
        assertEquals("sks dog", subset.get("class_tokens").asText());
    }

    @Test
    void invalidConfigsExitWithStatusTwoNamingTheKey() throws Exception {
        text("bad-key.toml", """
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "x"
                  num_repeat = 2
                """);
        Run badKey = plan(root.resolve("bad-key.toml").toString(), "--root", root.toString(), "--json");
        assertEquals(2, badKey.status());
        assertTrue(badKey.err().contains("num_repeat"), badKey.err());
        assertTrue(badKey.err().contains("datasets[0].subsets[0]"), badKey.err());
        assertEquals("", badKey.out());

        text("jobs/j/job.toml", "pretrained_model_name_or_path = \"m\"\nnetwork_dim = \"8\"\n");
        Run badType = plan(root.resolve("jobs/j/job.toml").toString(), "--root", root.toString());
        assertEquals(2, badType.status());
        assertTrue(badType.err().contains("network_dim"), badType.err());

        text("syntax.toml", "[[datasets]\n");
        Run syntax = plan(root.resolve("syntax.toml").toString(), "--root", root.toString());
        assertEquals(2, syntax.status());
        assertTrue(syntax.err().contains("syntax.toml"), syntax.err());

        Run missing = plan(root.resolve("nope.toml").toString(), "--root", root.toString());
        assertEquals(2, missing.status());
        assertTrue(missing.err().contains("nope.toml"), missing.err());
    }

    @Test
    void unreadableImagesAreExcludedNotFatal() throws Exception {
        image("x/ok.png", 512, 512, "png");
        text("x/broken.png", "this is not a png");
        text("d.toml", "[[datasets]]\nresolution = 512\n  [[datasets.subsets]]\n  image_dir = \"x\"\n");
        Run run = plan(root.resolve("d.toml").toString(), "--root", root.toString(), "--json");
        assertEquals(0, run.status(), run.err());
        JsonNode d = new ObjectMapper().readTree(run.out()).get("datasets").get(0);
        assertEquals(1, d.get("images").size());
        assertEquals("x/broken.png", d.get("excluded").get(0).get("path").asText());
    }
}
