package dev.kiln.diffusion.train.latent;

import ai.djl.ndarray.NDArray;
import dev.kiln.diffusion.safetensors.DType;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.safetensors.SafeTensorsWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Content-addressed latents on disk, laid out as the bucket's {@code cache/latents/} (ARCHITECTURE §2):
 * {@code <vae-sha>/<image-sha256>_<W>x<H>[_flip].safetensors} holding one float32 tensor {@code latents} [C, H/8, W/8]
 * as the VAE sampled it (not yet multiplied by the scaling factor, like sd-scripts' cache). The same image at the same
 * bucket size with the same VAE is encoded once, whatever job or dataset it belongs to.
 */
public final class LatentCache {

    public static final String TENSOR = "latents";

    /** One cached entry: an image's content hash, the bucket size it was cropped to, and whether it was flipped. */
    public record Key(String imageSha256, int width, int height, boolean flip) {

        public Key {
            if (imageSha256 == null || !imageSha256.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("image sha256 must be 64 lower-case hex digits, got " + imageSha256);
            }
        }

        /** {@code <sha>_<W>x<H>[_flip].safetensors} */
        public String fileName() {
            return String.format(Locale.ROOT, "%s_%dx%d%s.safetensors", imageSha256, width, height, flip ? "_flip" : "");
        }

        /** The object key under a bucket: {@code cache/latents/<vae-sha>/<file>}. */
        public String objectKey(String vaeSha256) {
            return "cache/latents/" + vaeSha256 + "/" + fileName();
        }
    }

    private final Path folder;

    /** @param folder the folder of one VAE, i.e. {@code .../cache/latents/<vae-sha>} */
    public LatentCache(Path folder) {
        this.folder = folder;
    }

    public Path folder() {
        return folder;
    }

    public Path file(Key key) {
        return folder.resolve(key.fileName());
    }

    public boolean contains(Key key) {
        return Files.isRegularFile(file(key));
    }

    /** The cached latents [C, h, w] as float32 values, channel-major. */
    public float[] read(Key key) {
        try (SafeTensors st = SafeTensors.open(file(key))) {
            return st.readFloats(TENSOR);
        }
    }

    /** Stores latents [C, h, w] (written atomically). */
    public Path write(Key key, NDArray latents) {
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create latent cache folder " + folder, e);
        }
        return new SafeTensorsWriter().add(TENSOR, latents, DType.F32).write(file(key));
    }
}
