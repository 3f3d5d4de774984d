package dev.kiln.captioning.tagger;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.captioning.tagger.onnx.OnnxModelWriter;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A missing or broken tagger model or tags CSV fails at load with a message naming the file. */
class TaggerErrorsTest {

    @TempDir
    Path dir;
    Path model;
    Path csv;

    @BeforeEach
    void writeTagger() throws IOException {
        model = ColourTagger.writeModel(dir.resolve("wd-tagger.onnx"), 32);
        csv = ColourTagger.writeCsv(dir.resolve("selected_tags.csv"), ColourTagger.TAGS);
    }

    private static void assertLoadFails(Path model, Path csv, Path named, String... fragments) {
        TaggerException e = assertThrows(TaggerException.class,
                () -> WdTagger.load(model, csv, TaggerOptions.defaults()).close());
        assertTrue(e.getMessage().contains(named.toString()), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), e.getMessage());
        }
    }

    @Test
    void missingModel() {
        Path missing = dir.resolve("models/none.onnx");
        assertLoadFails(missing, csv, missing, "not found");
    }

    @Test
    void fileThatIsNotAnOnnxModel() throws IOException {
        Path broken = Files.writeString(dir.resolve("broken.onnx"), "this is not a protobuf model");
        assertLoadFails(broken, csv, broken, "not a valid ONNX model");
    }

    @Test
    void truncatedModel() throws IOException {
        byte[] bytes = Files.readAllBytes(model);
        Path truncated = Files.write(dir.resolve("truncated.onnx"), java.util.Arrays.copyOf(bytes, bytes.length / 2));
        assertLoadFails(truncated, csv, truncated, "not a valid ONNX model");
    }

    @Test
    void modelThatDoesNotTakeImages() throws IOException {
        Path vector = new OnnxModelWriter("not_a_tagger", 13)
                .input("x", "batch", 13L).output("y", "batch", 13L)
                .node("Sigmoid", List.of("x"), List.of("y")).add()
                .write(dir.resolve("vector.onnx"));
        assertLoadFails(vector, csv, vector, "expected [batch, height, width, 3]");
    }

    @Test
    void missingCsv() {
        Path missing = dir.resolve("nope.csv");
        assertLoadFails(model, missing, missing, "not found");
    }

    @Test
    void missingCsvBesideTheModel() throws IOException {
        Path alone = ColourTagger.writeModel(Files.createDirectories(dir.resolve("alone")).resolve("model.onnx"), 32);
        TaggerException e = assertThrows(TaggerException.class,
                () -> WdTagger.load(alone, TaggerOptions.defaults()).close());
        assertTrue(e.getMessage().contains(dir.resolve("alone").resolve("selected_tags.csv") + ""), e.getMessage());
    }

    @Test
    void csvWithWrongHeader() throws IOException {
        Path bad = Files.writeString(dir.resolve("bad_header.csv"), "id,tag,category,count\n1,red,0,5\n");
        assertLoadFails(model, bad, bad, "header must start with tag_id,name,category");
    }

    @Test
    void csvWithBadCategory() throws IOException {
        Path bad = Files.writeString(dir.resolve("bad_category.csv"),
                "tag_id,name,category,count\n1,red,0,5\n2,blue,general,5\n", StandardCharsets.UTF_8);
        assertLoadFails(model, bad, bad, "line 3", "category 'general'");
    }

    @Test
    void csvWithFewerTagsThanModelOutputs() throws IOException {
        Path shorter = ColourTagger.writeCsv(dir.resolve("short.csv"), ColourTagger.TAGS.subList(0, 12));
        assertLoadFails(model, shorter, shorter, "outputs 13 scores", "lists 12 tags", model.toString());
    }

    @Test
    void csvWidthIsCheckedWhenTheModelNamesItsWidthDimension() throws IOException {
        // declared output [batch, tags] with a named width; the graph really yields 3 scores (the BGR means)
        Path named = new OnnxModelWriter("named_width", 13)
                .input("input_1:0", "batch", 32L, 32L, 3L).output("scores", "batch", "tags")
                .node("ReduceMean", List.of("input_1:0"), List.of("scores")).attribute("axes", 1L, 2L)
                .attribute("keepdims", 0L).add()
                .write(dir.resolve("three_scores.onnx"));
        // caught at load if ONNX Runtime infers the width, otherwise at the first batch
        TaggerException e = assertThrows(TaggerException.class, () -> {
            try (WdTagger tagger = WdTagger.load(named, csv, TaggerOptions.defaults())) {
                tagger.tag(List.of(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB)));
            }
        });
        assertTrue(e.getMessage().contains(named + " outputs 3 scores") && e.getMessage().contains(csv + " lists 13"),
                e.getMessage());
    }

    @Test
    void malformedTagReplacement() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TaggerOptions.parseTagReplacements("a,b;c"));
        assertTrue(e.getMessage().contains("tag_replacement") && e.getMessage().contains("'c'"), e.getMessage());
    }
}
