package dev.kiln.captioning.tagger;

import dev.kiln.captioning.tagger.onnx.OnnxModelWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A real, tiny WD14-shaped tagger for tests: the ONNX graph averages the BGR input over height and width, applies
 * a linear layer and a sigmoid, so each tag's score is a known function of the image's mean colour.
 * Its {@code selected_tags.csv} has 4 ratings, general tags, character tags and one ignored (copyright) tag.
 */
public final class ColourTagger {

    /** One label: CSV name and category code, and its score {@code sigmoid(r*R + g*G + b*B + bias)}. */
    public record Tag(String name, int category, double r, double g, double b, double bias) {
        public double score(double red, double green, double blue) {
            return 1 / (1 + Math.exp(-(r * red + g * green + b * blue + bias)));
        }
    }

    public static final List<Tag> TAGS = List.of(
            new Tag("general", 9, 0, 0, 0, 0),
            new Tag("sensitive", 9, 0.02, 0, 0, -3),
            new Tag("questionable", 9, 0, 0, 0, -2),
            new Tag("explicit", 9, 0, 0, 0, -3),
            new Tag("red", 0, 0.04, -0.04, -0.04, -2),
            new Tag("green", 0, -0.04, 0.04, -0.04, -2),
            new Tag("blue", 0, -0.04, -0.04, 0.04, -2),
            new Tag("white_background", 0, 0.01, 0.01, 0.01, -5),
            new Tag("^_^", 0, 0.01, 0.01, 0.01, -5),
            new Tag("mid_tone", 0, 0.004, 0, 0, -0.8),
            new Tag("hatsune_miku", 4, -0.03, 0.03, 0, -2),
            new Tag("ganyu_(genshin_impact)", 4, -0.03, 0, 0.03, -2),
            new Tag("genshin_impact", 3, 0, 0, 0, 5));

    private ColourTagger() {
    }

    public static Tag tag(String name) {
        return TAGS.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }

    /** NHWC model {@code [batch, size, size, 3]} with a dynamic batch. */
    public static Path writeModel(Path file, int size) throws IOException {
        return writeModel(file, TAGS, "batch", size, true);
    }

    /**
     * The model for {@code tags}; {@code batch} is a {@link Long} (fixed) or {@link String} (dynamic),
     * {@code channelsLast} chooses NHWC or NCHW input;
     * {@code size} 0 leaves height and width dynamic.
     */
    static Path writeModel(Path file, List<Tag> tags, Object batch, long size, boolean channelsLast) throws IOException {
        int count = tags.size();
        float[] weights = new float[3 * count];
        float[] bias = new float[count];
        for (int t = 0; t < count; t++) {
            Tag tag = tags.get(t);
            // rows in the model's channel order: blue, green, red
            weights[t] = (float) tag.b();
            weights[count + t] = (float) tag.g();
            weights[2 * count + t] = (float) tag.r();
            bias[t] = (float) tag.bias();
        }
        OnnxModelWriter model = new OnnxModelWriter("colour_tagger", 13);
        // size 0 leaves height and width dynamic
        Object side = size > 0 ? (Object) size : "side";
        if (channelsLast) {
            model.input("input_1:0", batch, side, side, 3L);
        } else {
            model.input("input_1:0", batch, 3L, side, side);
        }
        return model.output("predictions_sigmoid", batch, (long) count)
                .initializer("weights", weights, 3, count)
                .initializer("bias", bias, count)
                .node("ReduceMean", List.of("input_1:0"), List.of("mean"))
                .attribute("axes", channelsLast ? new long[] {1, 2} : new long[] {2, 3})
                .attribute("keepdims", 0L).add()
                .node("MatMul", List.of("mean", "weights"), List.of("logits")).add()
                .node("Add", List.of("logits", "bias"), List.of("biased")).add()
                .node("Sigmoid", List.of("biased"), List.of("predictions_sigmoid")).add()
                .write(file);
    }

    /** The tags CSV in WD14's format ({@code tag_id,name,category,count}). */
    public static Path writeCsv(Path file, List<Tag> tags) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("tag_id,name,category,count");
        for (int i = 0; i < tags.size(); i++) {
            lines.add((100 + i) + "," + tags.get(i).name() + "," + tags.get(i).category() + "," + (1000 - i));
        }
        Files.write(file, lines, StandardCharsets.UTF_8);
        return file;
    }
}
