package dev.kiln.captioning.tagging;

import dev.kiln.captioning.CaptioningConfig;
import dev.kiln.captioning.tagger.TaggerException;
import dev.kiln.captioning.tagger.TaggerOptions;
import dev.kiln.captioning.tagger.WdTagger;
import dev.kiln.model.job.CaptioningSettings;
import dev.kiln.service.storage.ObjectInfo;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.jboss.logging.Logger;

/**
 * Tagger models loaded from the bucket: the {@code .onnx} and its tags CSV are downloaded into the service's work
 * folder (file names are hashes, never keys), loaded through {@link WdTagger}, then deleted. The two most recently
 * used taggers stay loaded; an object replaced in the bucket (new ETag) is loaded again. A model that failed to
 * load is remembered by ETag, so a broken model is not downloaded again for every batch.
 *
 * <p>One tagging at a time ({@link #withTagger} is synchronized): inference already uses every core, and a
 * tagger cannot be evicted while it runs.
 */
@ApplicationScoped
public class TaggerRegistry {
    private static final Logger LOG = Logger.getLogger(TaggerRegistry.class);
    private static final int LOADED = 2;
    private static final int REMEMBERED_FAILURES = 32;

    /** What identifies a loaded tagger: the exact objects and the options. */
    private record Identity(String modelKey, String modelETag, String csvKey, String csvETag, TaggerOptions options) {
    }

    private final S3Storage storage;
    private final CaptioningConfig config;
    private final Map<Identity, WdTagger> loaded = new LinkedHashMap<>(4, 0.75f, true);
    private final Map<Identity, String> failures = new LinkedHashMap<>(16, 0.75f, true);

    @Inject
    public TaggerRegistry(S3Storage storage, CaptioningConfig config) {
        this.storage = storage;
        this.config = config;
    }

    /**
     * Runs {@code work} with the tagger of {@code settings}.
     *
     * @throws TaggerUnavailableException when the model or tags CSV is missing, too large, or cannot be loaded
     */
    public synchronized <T> T withTagger(CaptioningSettings settings, Function<WdTagger, T> work) {
        TaggerOptions options = TaggerOptions.of(settings, config.batchSize());
        String modelKey = settings.captionModel();
        ObjectInfo model = find(modelKey, "tagger model", modelKey);
        ObjectInfo csv = find(settings.tagsCsv(), "tagger tags CSV", modelKey);
        if (model.size() > config.maxModelBytes()) {
            throw new TaggerUnavailableException(modelKey, "tagger model " + modelKey + " is " + model.size()
                    + " bytes, over kiln.captioning.max-model-bytes (" + config.maxModelBytes() + ")", null);
        }
        Identity id = new Identity(modelKey, model.eTag(), csv.key(), csv.eTag(), options);
        String failure = failures.get(id);
        if (failure != null) {
            throw new TaggerUnavailableException(modelKey, failure, null);
        }
        WdTagger tagger = loaded.get(id);
        if (tagger == null) {
            try {
                tagger = load(id);
            } catch (TaggerUnavailableException e) {
                if (e.getCause() instanceof TaggerException) { // the files themselves are bad, not the download
                    failures.put(id, e.getMessage());
                    trim(failures, REMEMBERED_FAILURES, null);
                }
                throw e;
            }
            loaded.put(id, tagger);
            trim(loaded, LOADED, WdTagger::close);
        }
        return work.apply(tagger);
    }

    private ObjectInfo find(String key, String what, String modelKey) {
        try {
            return storage.stat(key);
        } catch (StorageException e) {
            String problem = e.isNotFound() ? "not found in bucket " + storage.bucket() : "cannot be read: " + e.getMessage();
            throw new TaggerUnavailableException(modelKey, what + " " + key + " " + problem, e);
        }
    }

    private WdTagger load(Identity id) {
        Path dir = config.workDir().toAbsolutePath();
        Path modelFile = dir.resolve(hash(id.modelKey() + "\n" + id.modelETag()) + ".onnx");
        Path csvFile = dir.resolve(hash(id.csvKey() + "\n" + id.csvETag()) + ".csv");
        try {
            Files.createDirectories(dir);
            storage.getToFile(id.modelKey(), modelFile);
            storage.getToFile(id.csvKey(), csvFile);
            long started = System.nanoTime();
            WdTagger tagger = WdTagger.load(modelFile, csvFile, id.options());
            LOG.infof("tagger model %s (tags %s) loaded in %d ms: %dx%d input, batch size %d", id.modelKey(),
                    id.csvKey(), (System.nanoTime() - started) / 1_000_000, tagger.imageSize(), tagger.imageSize(),
                    tagger.batchSize());
            return tagger;
        } catch (TaggerException e) {
            // WdTagger names its local files; the user knows the objects
            String message = e.getMessage().replace(modelFile.toString(), id.modelKey())
                    .replace(csvFile.toString(), id.csvKey());
            throw new TaggerUnavailableException(id.modelKey(), message, e);
        } catch (StorageException e) {
            throw new TaggerUnavailableException(id.modelKey(), "tagger model " + id.modelKey() + " or tags CSV "
                    + id.csvKey() + " cannot be downloaded: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the tagger work folder " + dir, e);
        } finally {
            // ONNX Runtime holds the model in memory once loaded
            deleteQuietly(modelFile);
            deleteQuietly(csvFile);
        }
    }

    private static <V> void trim(Map<Identity, V> map, int keep, java.util.function.Consumer<V> onEvict) {
        Iterator<Map.Entry<Identity, V>> it = map.entrySet().iterator();
        while (map.size() > keep && it.hasNext()) {
            V evicted = it.next().getValue();
            it.remove();
            if (onEvict != null) {
                onEvict.accept(evicted);
            }
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warnf("cannot delete %s: %s", file, e.getMessage());
        }
    }

    private static String hash(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    synchronized void closeAll(@Observes ShutdownEvent event) {
        loaded.values().forEach(WdTagger::close);
        loaded.clear();
    }
}
