package dev.kiln.captioning.job;

import dev.kiln.model.dataset.DatasetSource;
import dev.kiln.model.dataset.ListedImage;
import dev.kiln.service.storage.ObjectInfo;
import dev.kiln.service.storage.S3Storage;
import java.util.List;
import java.util.TreeSet;

/**
 * The folder listing a legacy job ({@code train_data_dir} / {@code reg_data_dir}) needs to find its
 * {@code <N>_<class tokens>} subsets, read from the bucket. Subsets only: captioning lists the images itself.
 */
final class BucketFolders implements DatasetSource {
    private final S3Storage storage;

    BucketFolders(S3Storage storage) {
        this.storage = storage;
    }

    @Override
    public List<String> subdirectories(String dir) {
        String prefix = folder(dir);
        TreeSet<String> names = new TreeSet<>();
        // S3 has no folders: a folder is the first segment of a longer key
        for (ObjectInfo object : storage.list(prefix, true)) {
            String rest = object.key().substring(prefix.length());
            int slash = rest.indexOf('/');
            if (slash > 0) {
                names.add(rest.substring(0, slash));
            }
        }
        return List.copyOf(names);
    }

    @Override
    public List<ListedImage> images(String imageDir, String captionExtension) {
        throw new UnsupportedOperationException("resolving subsets lists no images");
    }

    @Override
    public String text(String path) {
        throw new UnsupportedOperationException("resolving subsets reads no files");
    }

    @Override
    public int[] imageSize(String path) {
        throw new UnsupportedOperationException("resolving subsets reads no images");
    }

    /** {@code dir} as a key prefix ending in {@code /}. */
    static String folder(String dir) {
        return dir.endsWith("/") ? dir : dir + "/";
    }
}
