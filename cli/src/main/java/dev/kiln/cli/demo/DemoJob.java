package dev.kiln.cli.demo;

import dev.kiln.diffusion.model.TinyModels;
import dev.kiln.model.dataset.ImageFiles;
import dev.kiln.model.keys.ObjectKeys;
import io.minio.MinioClient;
import io.minio.UploadObjectArgs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * What {@code kiln demo} puts into the bucket: a tiny randomly initialised SD1 model under {@code models/}, the
 * repository's public-domain photographs with their captions as a kohya subset folder, and a LoRA job over them that
 * trains, saves and requests samples on a schedule small enough for two CPU cores.
 *
 * @param steps       {@code max_train_steps}
 * @param sampleEvery {@code sample_every_n_steps} (and {@code save_every_n_steps}); 0 for neither
 */
public record DemoJob(String name, String modelKey, String imageDir, int steps, int sampleEvery, List<String> prompts) {

    /** The subset folder: 10 repeats, identifier "kiln", class "photo" (sd-scripts' {@code <N>_<identifier> <class>}). */
    public static final String SUBSET = "10_kiln photo";
    public static final String OUTPUT_NAME = "demo-lora";
    /** 64² images, 32² latents: the tiny UNet attends at full latent resolution, which grows with its square. */
    public static final int RESOLUTION = 64;

    /** The demo's job: {@code name}'s dataset and a shared tiny model. */
    public static DemoJob of(String name, int steps, int sampleEvery) {
        return new DemoJob(name, ObjectKeys.MODELS + "kiln-demo-tiny-sd1", ObjectKeys.datasetPrefix(name) + SUBSET,
                steps, sampleEvery, List.of("a photo of a cat --w 64 --h 64 --s 12 --d 1",
                        "kiln photo, a rocket in the sky --n blurry --w 64 --h 64 --s 12 --d 2"));
    }

    /** The sample images the job's schedule asks for: every prompt at every {@code sample_every_n_steps}. */
    public int expectedSamples() {
        return sampleEvery <= 0 ? 0 : prompts.size() * (steps / sampleEvery);
    }

    /** The job.toml, with sd-scripts' argument names (ARCHITECTURE §4); {@code extra} adds top-level arguments. */
    public String toml(String extra) {
        StringBuilder prompts = new StringBuilder();
        for (String p : this.prompts) {
            prompts.append(prompts.length() == 0 ? "" : ", ").append('"').append(p).append('"');
        }
        return String.format(Locale.ROOT, """
                method = "lora"
                pretrained_model_name_or_path = "%s"
                output_name = "%s"
                network_dim = 8
                network_alpha = 4
                learning_rate = 0.001
                optimizer_type = "AdamW"
                lr_scheduler = "cosine"
                lr_warmup_steps = %d
                max_train_steps = %d
                %s
                sample_sampler = "euler_a"
                caption_extension = ".txt"
                seed = 42
                sample_prompts = [%s]
                %s
                [general]
                enable_bucket = true
                min_bucket_reso = 64
                max_bucket_reso = 128

                [[datasets]]
                resolution = %d
                batch_size = 2

                  [[datasets.subsets]]
                  image_dir = "%s"
                  class_tokens = "kiln photo"
                  num_repeats = 10
                """, modelKey, OUTPUT_NAME, Math.max(1, steps / 10), steps, sampleEvery <= 0 ? ""
                        : "save_every_n_steps = " + sampleEvery + "\nsample_every_n_steps = " + sampleEvery, prompts, extra,
                RESOLUTION, imageDir);
    }

    /**
     * Writes the tiny model into {@code localModels/<name>} (once) and uploads it as a diffusers folder under
     * {@link #modelKey()}; returns the local folder.
     */
    public Path uploadModel(MinioClient s3, String bucket, Path localModels) {
        Path folder = localModels.resolve(modelKey.substring(ObjectKeys.MODELS.length()));
        if (!Files.isRegularFile(folder.resolve("unet/diffusion_pytorch_model.safetensors"))) {
            TinyModels.writeRandomSd1(folder, 42);
        }
        try (Stream<Path> files = Files.walk(folder)) {
            for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                upload(s3, bucket, modelKey + "/" + folder.relativize(file).toString().replace('\\', '/'), file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + folder, e);
        }
        return folder;
    }

    /** Uploads the photographs and their caption files into {@link #imageDir()}; returns the image keys. */
    public List<String> uploadPhotos(MinioClient s3, String bucket, Path photos) {
        List<String> images = new ArrayList<>();
        try (Stream<Path> files = Files.list(photos)) {
            for (Path file : files.sorted().toList()) {
                String name = file.getFileName().toString();
                boolean image = ImageFiles.isImage(name);
                if (image || name.endsWith(".txt")) {
                    String key = imageDir + "/" + name;
                    upload(s3, bucket, key, file);
                    if (image) {
                        images.add(key);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + photos, e);
        }
        if (images.isEmpty()) {
            throw new IllegalStateException("no photographs in " + photos);
        }
        return images;
    }

    private static void upload(MinioClient s3, String bucket, String key, Path file) {
        try {
            s3.uploadObject(UploadObjectArgs.builder().bucket(bucket).object(key).filename(file.toString()).build());
        } catch (Exception e) {
            throw new IllegalStateException("cannot upload " + file + " to s3://" + bucket + "/" + key + ": "
                    + e.getMessage(), e);
        }
    }
}
