package dev.kiln.captioning.tagger.bench;

import dev.kiln.captioning.tagger.TaggerOptions;
import dev.kiln.captioning.tagger.WdTagger;
import dev.kiln.captioning.tagger.onnx.OnnxModelWriter;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * {@code kiln bench tagger}: CPU throughput (images/s) of {@link WdTagger} at batch 1 and batch 8 on a
 * WD14-shaped model (NHWC 448x448 BGR input, four stride-2 3x3 convolutions, global pooling, 9083 sigmoid tags),
 * and the ratio between them. Times the whole {@code tag()} call (padding, BGR floats, inference, caption);
 * the images are already 448x448 so no resampling happens. Reports median and best of the timed rounds, since
 * shared hosts are noisy. Argument: rounds (default 10).
 */
public final class TaggerBenchmark {

    private static final int SIZE = 448;
    private static final int IMAGES = 8;
    private static final int GENERAL_TAGS = 6000;
    private static final int CHARACTER_TAGS = 3079;
    private static final int[] CHANNELS = {3, 16, 32, 64, 128};

    private TaggerBenchmark() {
    }

    /** Runs the benchmark and prints the results. */
    public static void main(String[] args) throws IOException {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        if (rounds < 1) {
            throw new IllegalArgumentException("rounds must be at least 1, got " + rounds);
        }
        Path dir = Files.createTempDirectory("kiln-tagger-bench");
        try {
            Path model = writeModel(dir.resolve("model.onnx"));
            Path csv = writeCsv(dir.resolve("selected_tags.csv"));
            List<BufferedImage> images = images();
            System.out.printf("tagger benchmark: %dx%d NHWC input, %d conv layers, %d tags, %d images per round, "
                    + "%d rounds, CPU (ONNX Runtime via DJL)%n", SIZE, SIZE, CHANNELS.length - 1,
                    4 + GENERAL_TAGS + CHARACTER_TAGS, IMAGES, rounds);
            double[] batch1 = measure(model, csv, images, 1, rounds);
            double[] batch8 = measure(model, csv, images, 8, rounds);
            System.out.printf("batch 1: %.2f images/s (median; best %.2f)%n", batch1[0], batch1[1]);
            System.out.printf("batch 8: %.2f images/s (median; best %.2f)%n", batch8[0], batch8[1]);
            System.out.printf("batch 8 / batch 1: %.2fx (median; best %.2fx)%n", batch8[0] / batch1[0],
                    batch8[1] / batch1[1]);
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** {median, best} images/s over the rounds, after one untimed warm-up round. */
    private static double[] measure(Path model, Path csv, List<BufferedImage> images, int batch, int rounds) {
        try (WdTagger tagger = WdTagger.load(model, csv, TaggerOptions.builder().batchSize(batch).build())) {
            tagger.tag(images);
            double[] rates = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                long start = System.nanoTime();
                tagger.tag(images);
                rates[r] = images.size() / ((System.nanoTime() - start) / 1e9);
            }
            Arrays.sort(rates);
            return new double[] {rates[rounds / 2], rates[rounds - 1]};
        }
    }

    private static List<BufferedImage> images() {
        Random random = new Random(7);
        List<BufferedImage> images = new ArrayList<>();
        for (int i = 0; i < IMAGES; i++) {
            BufferedImage image = new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_INT_RGB);
            int[] pixels = new int[SIZE * SIZE];
            for (int p = 0; p < pixels.length; p++) {
                pixels[p] = random.nextInt(0x1000000);
            }
            image.setRGB(0, 0, SIZE, SIZE, pixels, 0, SIZE);
            images.add(image);
        }
        return images;
    }

    private static Path writeModel(Path file) throws IOException {
        int tags = 4 + GENERAL_TAGS + CHARACTER_TAGS;
        Random random = new Random(42);
        OnnxModelWriter writer = new OnnxModelWriter("bench_tagger", 13)
                .input("input_1:0", "batch", (long) SIZE, (long) SIZE, 3L)
                .output("predictions_sigmoid", "batch", (long) tags);
        writer.node("Transpose", List.of("input_1:0"), List.of("x0")).attribute("perm", 0L, 3L, 1L, 2L).add();
        for (int layer = 1; layer < CHANNELS.length; layer++) {
            int in = CHANNELS[layer - 1];
            int out = CHANNELS[layer];
            String w = "conv" + layer + ".weight";
            String b = "conv" + layer + ".bias";
            writer.initializer(w, gaussian(random, out * in * 9, Math.sqrt(2.0 / (in * 9)) / 255), out, in, 3, 3)
                    .initializer(b, new float[out], out)
                    .node("Conv", List.of("x" + (layer - 1), w, b), List.of("c" + layer))
                    .attribute("kernel_shape", 3L, 3L).attribute("strides", 2L, 2L).attribute("pads", 1L, 1L, 1L, 1L)
                    .add()
                    .node("Relu", List.of("c" + layer), List.of("x" + layer)).add();
        }
        int last = CHANNELS.length - 1;
        int features = CHANNELS[last];
        return writer.node("GlobalAveragePool", List.of("x" + last), List.of("pooled")).add()
                .node("Flatten", List.of("pooled"), List.of("features")).attribute("axis", 1L).add()
                .initializer("head.weight", gaussian(random, features * tags, Math.sqrt(1.0 / features)), features, tags)
                .initializer("head.bias", new float[tags], tags)
                .node("MatMul", List.of("features", "head.weight"), List.of("logits")).add()
                .node("Add", List.of("logits", "head.bias"), List.of("biased")).add()
                .node("Sigmoid", List.of("biased"), List.of("predictions_sigmoid")).add()
                .write(file);
    }

    private static float[] gaussian(Random random, int count, double std) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) (random.nextGaussian() * std);
        }
        return values;
    }

    private static Path writeCsv(Path file) {
        List<String> lines = new ArrayList<>();
        lines.add("tag_id,name,category,count");
        for (String rating : List.of("general", "sensitive", "questionable", "explicit")) {
            lines.add(lines.size() + "," + rating + ",9,0");
        }
        for (int i = 0; i < GENERAL_TAGS; i++) {
            lines.add(lines.size() + ",general_tag_" + i + ",0,0");
        }
        for (int i = 0; i < CHARACTER_TAGS; i++) {
            lines.add(lines.size() + ",character_" + i + "_(series),4,0");
        }
        try {
            return Files.write(file, lines, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
