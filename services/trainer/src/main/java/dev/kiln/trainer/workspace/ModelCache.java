package dev.kiln.trainer.workspace;

import dev.kiln.diffusion.train.TrainingState;
import dev.kiln.service.storage.ObjectInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * The trainer's local copies of base models, one folder per model version: a model is its objects' keys, ETags and
 * sizes, so a re-uploaded model is downloaded again. A folder counts only once its {@link #COMPLETE} marker exists
 * (a download cut short is redone); the {@value #KEEP} most recently used versions stay.
 */
final class ModelCache {
    private static final Logger LOG = Logger.getLogger(ModelCache.class);
    static final String COMPLETE = ".complete";
    static final int KEEP = 2;

    private ModelCache() {
    }

    /** The folder name of a model version. */
    static String version(List<ObjectInfo> objects) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            objects.stream().sorted(Comparator.comparing(ObjectInfo::key)).forEach(o -> sha.update(
                    (o.key() + "\u0000" + o.eTag() + "\u0000" + o.size() + "\n").getBytes(StandardCharsets.UTF_8)));
            return HexFormat.of().formatHex(sha.digest()).substring(0, 32);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Removes the least recently used versions beyond {@value #KEEP}, never {@code inUse}. */
    static void evict(Path cache, Path inUse) {
        try (Stream<Path> folders = Files.list(cache)) {
            List<Path> byUse = folders.filter(Files::isDirectory)
                    .sorted(Comparator.comparing(ModelCache::lastUsed).reversed()).toList();
            for (Path old : byUse.subList(Math.min(KEEP, byUse.size()), byUse.size())) {
                if (!old.equals(inUse)) {
                    TrainingState.deleteTree(old);
                }
            }
        } catch (IOException e) {
            LOG.warnf("cannot trim the model cache %s: %s", cache, e.getMessage());
        }
    }

    private static FileTime lastUsed(Path folder) {
        try {
            return Files.getLastModifiedTime(folder);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }
}
