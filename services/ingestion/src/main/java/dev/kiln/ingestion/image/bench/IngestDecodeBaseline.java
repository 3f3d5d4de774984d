package dev.kiln.ingestion.image.bench;

import dev.kiln.ingestion.image.ImageLimits;
import dev.kiln.ingestion.image.ImageValidator;
import dev.kiln.model.dataset.ImageFiles;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * The in-JVM half of {@code kiln bench ingest}: how fast a plain {@code ImageIO.read} loop decodes a folder of
 * images, and how fast {@link ImageValidator} validates the same bytes, one thread each, files read into memory
 * first so that only decoding is timed. Prints one JSON line; {@code validateOverPlain} is the validator's time
 * per image over the plain loop's (sniffing, limits, SHA-256, CRC checks on top of decoding).
 *
 * <p>Usage: {@code IngestDecodeBaseline <folder> [rounds]} (image files found recursively, default 3 rounds).
 */
public final class IngestDecodeBaseline {
    /** One run's numbers. */
    public record Result(int images, long bytes, int rounds, int plainFailures, double plainImagesPerSecond,
                         double validateImagesPerSecond, double validateOverPlain) {
        /** The JSON line printed by {@link #main}. */
        public String toJson() {
            return String.format(Locale.ROOT, "{\"images\":%d,\"bytes\":%d,\"rounds\":%d,\"plainFailures\":%d,"
                            + "\"plainImagesPerSec\":%.2f,\"validateImagesPerSec\":%.2f,\"validateOverPlain\":%.3f}",
                    images, bytes, rounds, plainFailures, plainImagesPerSecond, validateImagesPerSecond, validateOverPlain);
        }
    }

    private IngestDecodeBaseline() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: IngestDecodeBaseline <folder> [rounds]");
            System.exit(2);
        }
        int rounds = args.length == 2 ? Integer.parseInt(args[1]) : 3;
        System.out.println(run(Path.of(args[0]), rounds).toJson());
    }

    /** Times both loops over every image file under {@code folder}, after one untimed warm-up round. */
    public static Result run(Path folder, int rounds) throws IOException {
        if (rounds < 1) {
            throw new IllegalArgumentException("rounds must be >= 1: " + rounds);
        }
        List<byte[]> images = load(folder);
        if (images.isEmpty()) {
            throw new IllegalArgumentException("no png/jpg/jpeg/webp/bmp files under " + folder);
        }
        long bytes = images.stream().mapToLong(b -> b.length).sum();
        ImageValidator validator = new ImageValidator();
        int failures = plainRound(images);
        validateRound(validator, images);
        long plainNanos = 0;
        long validateNanos = 0;
        for (int r = 0; r < rounds; r++) {
            long start = System.nanoTime();
            plainRound(images);
            plainNanos += System.nanoTime() - start;
            start = System.nanoTime();
            validateRound(validator, images);
            validateNanos += System.nanoTime() - start;
        }
        double decoded = (double) images.size() * rounds;
        return new Result(images.size(), bytes, rounds, failures, decoded / (plainNanos / 1e9),
                decoded / (validateNanos / 1e9), (double) validateNanos / plainNanos);
    }

    private static List<byte[]> load(Path folder) throws IOException {
        List<byte[]> images = new ArrayList<>();
        try (Stream<Path> files = Files.walk(folder)) {
            for (Path file : (Iterable<Path>) files.filter(Files::isRegularFile)
                    .filter(p -> ImageFiles.isImage(p.getFileName().toString())).sorted()::iterator) {
                images.add(Files.readAllBytes(file));
            }
        }
        return images;
    }

    /** Returns how many images ImageIO could not decode (CMYK JPEGs, for one). */
    private static int plainRound(List<byte[]> images) throws IOException {
        int failures = 0;
        for (byte[] image : images) {
            try {
                if (ImageIO.read(new ByteArrayInputStream(image)) == null) {
                    failures++;
                }
            } catch (IOException | RuntimeException e) {
                failures++;
            }
        }
        return failures;
    }

    private static void validateRound(ImageValidator validator, List<byte[]> images) {
        for (int i = 0; i < images.size(); i++) {
            byte[] image = images.get(i);
            try {
                validator.validate("datasets/bench/1_bench/" + i + ".png",
                        new ByteArrayInputStream(image), image.length, ImageLimits.DEFAULT);
            } catch (IOException e) {
                throw new UncheckedIOException(e); // in-memory streams do not fail
            }
        }
    }
}
