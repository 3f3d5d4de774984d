package dev.kiln.model.dataset;

import java.util.Locale;
import java.util.Set;

/** Which files are training images (sd-scripts train_util.IMAGE_EXTENSIONS). */
public final class ImageFiles {
    /** sd-scripts' extensions; Kiln matches them in any letter case (ARCHITECTURE: ".Png is accepted"). */
    public static final Set<String> EXTENSIONS = Set.of(".png", ".jpg", ".jpeg", ".webp", ".bmp");

    private ImageFiles() {}

    /** Whether {@code fileName} (no directory) has an image extension. */
    public static boolean isImage(String fileName) {
        int dot = fileName.lastIndexOf('.');
        return dot >= 0 && EXTENSIONS.contains(fileName.substring(dot).toLowerCase(Locale.ROOT));
    }

    /** Whether a file name starts with "." (sd-scripts' glob never sees these; Kiln rejects them with a reason). */
    public static boolean isHidden(String fileName) {
        return fileName.startsWith(".");
    }

    /** The file name part of a path or object key. */
    public static String fileName(String path) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? path : path.substring(slash + 1);
    }
}
