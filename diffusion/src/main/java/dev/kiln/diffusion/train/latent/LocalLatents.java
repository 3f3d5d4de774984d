package dev.kiln.diffusion.train.latent;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.image.ImageTensors;
import dev.kiln.model.dataset.DatasetPlan;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Latents of images in a local folder ({@code kiln train --root DIR}): every (image, bucket, flip) of the plan is
 * encoded once into a {@link LatentCache} before training, then read back per step.
 */
public final class LocalLatents implements LatentSource {

    private final Path root;
    private final LatentCache cache;
    private final Map<String, String> sha256ByPath = new HashMap<>();

    /** @param root the folder the plan's image paths are relative to */
    public LocalLatents(Path root, LatentCache cache) {
        this.root = root;
        this.cache = cache;
    }

    /** What caching found: entries encoded now and entries reused from the cache. */
    public record CacheReport(int encoded, int reused) {
    }

    /**
     * Encodes every missing entry of {@code plan}: each image at its bucket, and flipped as well where the subset
     * has {@code flip_aug} (sd-scripts caches both). Reports progress as (done, total).
     */
    public CacheReport fill(DatasetPlan plan, LatentEncoder encoder, NDManager manager, BiConsumer<Long, Long> progress) {
        Map<LatentCache.Key, DatasetPlan.Image> wanted = new LinkedHashMap<>();
        for (DatasetPlan.Dataset dataset : plan.datasets()) {
            for (DatasetPlan.Image image : dataset.images()) {
                boolean flipAug = dataset.subsets().get(image.subset()).flipAug();
                for (boolean flip : flipAug ? new boolean[] {false, true} : new boolean[] {false}) {
                    wanted.putIfAbsent(key(image, flip), image);
                }
            }
        }
        List<LatentCache.Key> keys = new ArrayList<>(wanted.keySet());
        List<DatasetPlan.Image> images = new ArrayList<>(wanted.values());
        int encoded = 0;
        for (int i = 0; i < keys.size(); i++) {
            LatentCache.Key key = keys.get(i);
            if (!cache.contains(key)) {
                DatasetPlan.Image image = images.get(i);
                try (NDManager scope = manager.newSubManager()) {
                    NDArray latents = encoder.encode(
                            LatentEncoder.prepare(ImageTensors.read(root.resolve(image.path())), image.bucket(), key.flip()),
                            key.imageSha256(), key.flip(), scope);
                    cache.write(key, latents);
                }
                encoded++;
            }
            progress.accept((long) i + 1, (long) keys.size());
        }
        return new CacheReport(encoded, keys.size() - encoded);
    }

    @Override
    public float[] latents(DatasetPlan.Image image, boolean flip) {
        return cache.read(key(image, flip));
    }

    private LatentCache.Key key(DatasetPlan.Image image, boolean flip) {
        return new LatentCache.Key(sha256(image.path()), image.bucket().bucket().width(),
                image.bucket().bucket().height(), flip);
    }

    private String sha256(String path) {
        return sha256ByPath.computeIfAbsent(path, p -> fileSha256(root.resolve(p)));
    }

    /** SHA-256 of a file's bytes, lower-case hex. */
    public static String fileSha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
