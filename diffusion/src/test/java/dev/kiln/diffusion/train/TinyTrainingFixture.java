package dev.kiln.diffusion.train;

import dev.kiln.diffusion.bench.LetterTokenizer;
import dev.kiln.diffusion.golden.GoldenData;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A training folder for the tiny golden SD 1.5 model: a single-letter tokenizer (the tiny text encoder has a
 * 1000-id vocabulary), the repository's real photographs in a kohya {@code <N>_<token> <class>} folder with sidecar
 * captions, and a job.toml. Used by the engine tests here and the {@code kiln train} tests in cli.
 */
public final class TinyTrainingFixture {

    private TinyTrainingFixture() {
    }

    /** The tiny SD 1.5 diffusers folder of the golden data. */
    public static Path tinySd15() {
        return GoldenData.root().resolve("tiny-sd15").resolve("diffusers");
    }

    /** Writes the tiny models' {@link LetterTokenizer} into {@code dir}. */
    public static Path writeTokenizer(Path dir) {
        return LetterTokenizer.write(dir);
    }

    /**
     * The repository's real photographs ({@code demo/photos}: CC0 and public-domain PNG and JPEG files of several
     * sizes and aspect ratios), from {@code -Dkiln.photos} or {@code ../demo/photos} relative to the module.
     */
    public static Path photos() {
        Path dir = Path.of(System.getProperty("kiln.photos", "../demo/photos"));
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("demo photos not found at " + dir.toAbsolutePath() + " (set -Dkiln.photos)");
        }
        return dir;
    }

    /**
     * Copies the real photographs into {@code folder}, with a sidecar caption in the letter vocabulary for every
     * second one (the others fall back to the class tokens).
     */
    public static void writeImages(Path folder) {
        try (Stream<Path> files = Files.list(photos())) {
            Files.createDirectories(folder);
            List<Path> images = files.filter(p -> p.toString().matches(".*\\.(png|jpg)$")).sorted().toList();
            for (int i = 0; i < images.size(); i++) {
                Path image = images.get(i);
                Files.copy(image, folder.resolve(image.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                if (i % 2 == 0) {
                    String name = image.getFileName().toString();
                    write(folder.resolve(name.substring(0, name.lastIndexOf('.')) + ".txt"), "s c, r d");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A LoRA job over {@code datasets/photos/5_s c} at 64² (32² latents for the tiny x2 VAE), batch 2. */
    public static String job(String extra) {
        return "method = \"lora\"\n"
                + "pretrained_model_name_or_path = \"" + tinySd15().toString().replace("\\", "/") + "\"\n"
                + "network_dim = 4\nnetwork_alpha = 2\nlearning_rate = 0.005\nseed = 7\n"
                + "caption_extension = \".txt\"\n"
                + extra
                + "\n[[datasets]]\nresolution = 64\nbatch_size = 2\n"
                + "  [[datasets.subsets]]\n  image_dir = \"datasets/photos/5_s c\"\n  class_tokens = \"s c\"\n"
                + "  num_repeats = 5\n";
    }

    /** The real photographs as one DreamBooth subset, {@code 5_s c} with class tokens "s c" (5 repeats). */
    public static final String PHOTOS_SUBSET = "  [[datasets.subsets]]\n  image_dir = \"datasets/photos/5_s c\"\n"
            + "  class_tokens = \"s c\"\n  num_repeats = 5\n";

    /**
     * A job of another method ({@code dreambooth}, {@code finetune}, {@code textual_inversion}) on the tiny model at
     * 64² with batch 2: {@code extra} arguments, then one dataset with the given subset tables.
     */
    public static String methodJob(String method, String extra, String subsets) {
        return "method = \"" + method + "\"\n"
                + "pretrained_model_name_or_path = \"" + tinySd15().toString().replace("\\", "/") + "\"\n"
                + "seed = 7\ncaption_extension = \".txt\"\n"
                + extra
                + "\n[[datasets]]\nresolution = 64\nbatch_size = 2\n" + subsets;
    }

    /** Writes tokenizer, images and {@code jobs/<name>/job.toml} holding {@code jobText}; returns the job file. */
    public static Path writeJob(Path root, String name, String jobText) {
        writeTokenizer(root.resolve("tokenizer"));
        writeImages(root.resolve("datasets/photos/5_s c"));
        Path job = root.resolve("jobs").resolve(name).resolve("job.toml");
        write(job, jobText);
        return job;
    }

    /** Writes tokenizer, images and {@code jobs/<name>/job.toml} below {@code root}; returns the job file. */
    public static Path writeRun(Path root, String name, String extraArguments) {
        writeTokenizer(root.resolve("tokenizer"));
        writeImages(root.resolve("datasets/photos/5_s c"));
        Path job = root.resolve("jobs").resolve(name).resolve("job.toml");
        write(job, job(extraArguments));
        return job;
    }

    private static void write(Path file, String text) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
