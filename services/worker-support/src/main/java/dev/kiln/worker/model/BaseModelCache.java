package dev.kiln.worker.model;

import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.model.LoadOptions;
import dev.kiln.diffusion.model.StableDiffusionLoader;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.service.storage.ObjectInfo;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * Base models from the bucket, loaded once and kept in memory: {@code pretrained_model_name_or_path} is either a
 * single-file {@code .safetensors} object or a diffusers folder prefix ({@code models/tiny/} with
 * {@code text_encoder/}, {@code unet/}, {@code vae/} and, for a vocabulary other than CLIP's, {@code tokenizer/}).
 *
 * <p>A model is identified by its key, the ETags and sizes of its objects and the load options, so a re-uploaded
 * model is loaded again. It is downloaded below the work folder, loaded (the weights are copied into libtorch memory)
 * and the download is deleted. At most {@code capacity} models stay loaded. A model that does not load is remembered
 * by its fingerprint and refused without downloading it again until it changes. Used by the sampler and the
 * latent-cache service (each wraps it in a bean configured from its own settings). Thread-safe.
 */
public class BaseModelCache implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(BaseModelCache.class);
    private static final String SINGLE_FILE_SUFFIX = ".safetensors";

    private final S3Storage storage;
    private final Path workDir;
    private final int capacity;
    /** Access-ordered: the first entry is the least recently used. */
    private final LinkedHashMap<String, Loaded> loaded = new LinkedHashMap<>(4, 0.75f, true);
    /** Why a model (by fingerprint) did not load: not downloaded again until its objects change. */
    private final LinkedHashMap<String, String> failed = new LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > 64;
        }
    };

    /** A model in memory; its weights live in {@code manager}. */
    public record Loaded(String key, String fingerprint, StableDiffusionModel model, NDManager manager) {
    }

    /**
     * @param workDir  downloads go to {@code workDir/models/<fingerprint>/}, deleted once loaded
     * @param capacity how many models stay in memory (least recently used unloaded first)
     */
    public BaseModelCache(S3Storage storage, Path workDir, int capacity) {
        this.storage = storage;
        this.workDir = workDir.resolve("models");
        this.capacity = Math.max(1, capacity);
    }

    /**
     * The model at {@code key}, loading it on first use.
     *
     * @throws ModelLoadException naming the key when it is missing or does not load
     */
    public synchronized Loaded get(String key, LoadOptions options) {
        String problem = ObjectKeys.problem(key);
        if (problem != null) {
            throw new ModelLoadException("pretrained_model_name_or_path '" + key + "' is not a usable object key: "
                    + problem);
        }
        List<ObjectInfo> objects = objects(key);
        String fingerprint = fingerprint(key, objects, options);
        Loaded hit = loaded.get(fingerprint);
        if (hit != null) {
            return hit;
        }
        String failure = failed.get(fingerprint);
        if (failure != null) {
            throw new ModelLoadException(failure + " (not downloaded again until the model's objects change)");
        }
        Loaded fresh = load(key, objects, fingerprint, options);
        loaded.put(fingerprint, fresh);
        evict();
        return fresh;
    }

    /** How many models are in memory (for tests and metrics). */
    public synchronized int loadedCount() {
        return loaded.size();
    }

    /** The objects making up the model: one file, or every object under the folder prefix. */
    private List<ObjectInfo> objects(String key) {
        try {
            if (key.endsWith(SINGLE_FILE_SUFFIX)) {
                return List.of(storage.stat(key));
            }
            String prefix = key.endsWith("/") ? key : key + "/";
            List<ObjectInfo> objects = new ArrayList<>(storage.list(prefix, true));
            if (objects.isEmpty()) {
                throw new ModelLoadException("base model " + key + ": no single-file .safetensors object and no "
                        + "diffusers folder (nothing under " + prefix + ")");
            }
            objects.sort(Comparator.comparing(ObjectInfo::key));
            return objects;
        } catch (StorageException e) {
            if (e.isNotFound()) {
                throw new ModelLoadException("base model " + key + " does not exist in the bucket", e);
            }
            throw new ModelLoadException("base model " + key + " cannot be read: " + e.getMessage(), e);
        }
    }

    private Loaded load(String key, List<ObjectInfo> objects, String fingerprint, LoadOptions options) {
        Path dir = workDir.resolve(fingerprint);
        long started = System.nanoTime();
        NDManager manager = NDManager.newBaseManager();
        try {
            Path local = download(key, objects, dir);
            StableDiffusionModel model = StableDiffusionLoader.load(local, manager, options);
            LOG.infof("base model %s loaded in %.1f s (%d object(s), v2=%s, v-prediction=%s)", key,
                    (System.nanoTime() - started) / 1e9, objects.size(), model.v2(), model.vParameterization());
            return new Loaded(key, fingerprint, model, manager);
        } catch (StorageException e) {
            manager.close();
            throw new ModelLoadException("base model " + key + " cannot be downloaded: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // the loader names the file and the problem (a safetensors header that fails validation lands here):
            // say which object it was instead of the download's local path
            manager.close();
            String shown = key.endsWith("/") ? key.substring(0, key.length() - 1) : key;
            String message = String.valueOf(e.getMessage()).replace(dir.resolve("model.safetensors").toString(), shown)
                    .replace(dir.resolve("model").toString(), shown);
            failed.put(fingerprint, "base model " + key + " does not load: " + message);
            throw new ModelLoadException(failed.get(fingerprint), e);
        } finally {
            deleteQuietly(dir);
        }
    }

    /** Downloads the model below {@code dir}; returns the file or folder to load. */
    private Path download(String key, List<ObjectInfo> objects, Path dir) {
        if (key.endsWith(SINGLE_FILE_SUFFIX)) {
            Path file = dir.resolve("model.safetensors");
            storage.getToFile(key, file);
            return file;
        }
        String prefix = key.endsWith("/") ? key : key + "/";
        Path root = dir.resolve("model");
        for (ObjectInfo object : objects) {
            // keys are data: the relative part is a validated key, and the file must stay under the folder
            String relative = object.key().substring(prefix.length());
            if (relative.isEmpty() || relative.endsWith("/")) {
                continue; // a folder marker
            }
            Path target = root.resolve(ObjectKeys.requireSafe(relative)).normalize();
            if (!target.startsWith(root)) {
                throw new ModelLoadException("base model " + key + ": object " + object.key()
                        + " escapes the model folder");
            }
            storage.getToFile(object.key(), target);
        }
        return root;
    }

    private void evict() {
        Iterator<Map.Entry<String, Loaded>> it = loaded.entrySet().iterator();
        while (loaded.size() > capacity && it.hasNext()) {
            Loaded old = it.next().getValue();
            it.remove();
            old.manager().close();
            LOG.infof("base model %s unloaded (kiln.sampler.cached-models=%d)", old.key(), capacity);
        }
    }

    public static String fingerprint(String key, List<ObjectInfo> objects, LoadOptions options) {
        StringBuilder text = new StringBuilder(key).append('\n')
                .append(options.v2()).append(' ').append(options.vParameterization()).append('\n');
        for (ObjectInfo o : objects) {
            text.append(o.key()).append(' ').append(o.eTag()).append(' ').append(o.size()).append('\n');
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Removes a download; a leftover costs disk space only, so it is logged, not thrown. */
    public static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.warnf("cannot delete the download %s: %s", dir, e.getMessage());
        }
    }

    /** Unloads every model. */
    @Override
    public synchronized void close() {
        loaded.values().forEach(l -> l.manager().close());
        loaded.clear();
    }
}
