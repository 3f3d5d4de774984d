package dev.kiln.ingestion.jobs;

import dev.kiln.ingestion.index.DatasetIndex;
import dev.kiln.ingestion.index.ObjectRecord;
import dev.kiln.model.dataset.Captions;
import dev.kiln.model.dataset.DatasetSource;
import dev.kiln.model.dataset.ListedImage;
import dev.kiln.model.events.CaptionSource;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * The dataset engine's view of the bucket, from the {@link DatasetIndex}: accepted images with their sizes (not
 * duplicates, not rejected ones), and each image's caption for the subset's {@code caption_extension} (the sidecar
 * of that extension, else a tagger caption from kiln.images.captioned, else none: the planner uses class tokens).
 */
final class IndexDatasetSource implements DatasetSource {
    private static final int MAX_METADATA_BYTES = 64 * 1024 * 1024;

    private final DatasetIndex index;
    private final S3Storage storage;

    IndexDatasetSource(DatasetIndex index, S3Storage storage) {
        this.index = index;
        this.storage = storage;
    }

    @Override
    public List<String> subdirectories(String dir) {
        String prefix = dir.endsWith("/") ? dir : dir + "/";
        TreeSet<String> folders = new TreeSet<>();
        for (ObjectRecord record : index.under(prefix)) {
            String rest = record.key().substring(prefix.length());
            int slash = rest.indexOf('/');
            if (slash > 0) {
                folders.add(rest.substring(0, slash));
            }
        }
        return List.copyOf(folders);
    }

    @Override
    public List<ListedImage> images(String imageDir, String captionExtension) {
        String folder = imageDir.endsWith("/") ? imageDir : imageDir + "/";
        List<ListedImage> images = new ArrayList<>();
        for (ObjectRecord image : index.under(folder)) {
            if (image.isAccepted() && image.folder().equals(folder)) {
                images.add(new ListedImage(image.key(), image.width(), image.height(), caption(image, captionExtension)));
            }
        }
        return images;
    }

    private String caption(ObjectRecord image, String captionExtension) {
        for (String candidate : Captions.sidecarCandidates(image.key(), captionExtension)) {
            ObjectRecord sidecar = index.get(candidate);
            if (sidecar != null && sidecar.status() == ObjectRecord.Status.CAPTION) {
                return sidecar.captionText();
            }
        }
        return image.captionSource() == CaptionSource.TAGGER ? image.generatedCaption() : null;
    }

    @Override
    public String text(String path) {
        try (InputStream in = storage.get(path)) {
            byte[] bytes = in.readNBytes(MAX_METADATA_BYTES + 1);
            if (bytes.length > MAX_METADATA_BYTES) {
                throw new IllegalArgumentException(path + " is over " + MAX_METADATA_BYTES + " bytes");
            }
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (StorageException e) {
            if (e.isNotFound()) {
                return null;
            }
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": " + e.getMessage(), e);
        }
    }

    @Override
    public int[] imageSize(String path) {
        ObjectRecord record = index.get(path);
        return record == null || !record.isAccepted() ? null : new int[] {record.width(), record.height()};
    }
}
