package dev.kiln.model.keys;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Parses object keys according to the layout of ARCHITECTURE §2, with configurable caption extensions.
 * Extensions match in any letter case ({@code .Png} is an image), unlike sd-scripts on a case-sensitive
 * file system.
 */
public final class KeyLayout {

    /** Image extensions sd-scripts reads ({@code train_util.IMAGE_EXTENSIONS} without the optional plugins). */
    public static final Set<String> IMAGE_EXTENSIONS = Set.of("png", "jpg", "jpeg", "webp", "bmp");
    /** Image-like extensions that are rejected as unsupported rather than ignored. */
    public static final Set<String> UNSUPPORTED_IMAGE_EXTENSIONS =
            Set.of("gif", "tif", "tiff", "avif", "jxl", "heic", "heif", "ico", "svg", "psd", "tga", "jp2");
    /** Default caption sidecar extensions. */
    public static final List<String> DEFAULT_CAPTION_EXTENSIONS = List.of(".txt", ".caption");
    /** The layout with the default caption extensions. */
    public static final KeyLayout DEFAULT = new KeyLayout(DEFAULT_CAPTION_EXTENSIONS);

    private static final String METADATA_FILE = "metadata.json";
    private static final String JOB_FILE = "job.toml";
    private static final String REG_FOLDER = "reg";

    private final Set<String> captionExtensions;

    /**
     * @param captionExtensions caption extensions like {@code ".txt"}; a missing leading dot is added as
     *                          sd-scripts does ({@code "txt"} -> {@code ".txt"})
     */
    public KeyLayout(List<String> captionExtensions) {
        if (captionExtensions == null || captionExtensions.isEmpty()) {
            throw new IllegalArgumentException("caption extensions must not be empty");
        }
        Set<String> exts = new LinkedHashSet<>();
        for (String ext : captionExtensions) {
            String e = normalizeExtension(ext).substring(1);
            if (IMAGE_EXTENSIONS.contains(e)) {
                throw new IllegalArgumentException("caption extension '" + ext + "' is an image extension");
            }
            exts.add(e);
        }
        this.captionExtensions = Set.copyOf(exts);
    }

    /** {@code "txt"} or {@code ".TXT"} -> {@code ".txt"}. */
    static String normalizeExtension(String ext) {
        if (ext == null || ext.isBlank() || ext.equals(".") || ext.contains("/")) {
            throw new IllegalArgumentException("invalid file extension '" + ext + "'");
        }
        String e = ext.toLowerCase(Locale.ROOT);
        return e.startsWith(".") ? e : "." + e;
    }

    /** Parses a decoded object key. Never throws for bad keys: they come back as {@link KeyKind#INVALID}. */
    public ParsedKey parse(String key) {
        String unsafe = ObjectKeys.problem(key);
        if (unsafe != null) {
            return invalid(key, null, null, KeyProblem.UNSAFE_KEY, unsafe);
        }
        if (key.endsWith("/")) {
            return simple(key, KeyKind.DIRECTORY_MARKER, null, null, "folder marker object (key ends with '/')");
        }
        String[] seg = key.split("/");
        String top = seg[0];
        String second = seg.length > 1 ? seg[1] : null;
        return switch (top) {
            case "datasets" -> seg.length < 3
                    ? datasetFile(key, null, null, seg[seg.length - 1], "a file directly under datasets/")
                    : parseDataset(key, seg);
            case "jobs" -> seg.length == 3 && seg[2].equals(JOB_FILE)
                    ? simple(key, KeyKind.JOB_SPEC, null, second, null)
                    : simple(key, KeyKind.OTHER, null, seg.length > 2 ? second : null,
                    "only jobs/<job>/job.toml has a meaning under jobs/");
            case "models" -> simple(key, KeyKind.MODEL, null, null, null);
            case "cache" -> simple(key, KeyKind.CACHE, null, null, null);
            case "outputs" -> simple(key, KeyKind.OUTPUT, null, seg.length > 2 ? second : null, null);
            default -> simple(key, KeyKind.OTHER, null, null, "outside datasets/, jobs/, models/, cache/, outputs/");
        };
    }

    private ParsedKey parseDataset(String key, String[] seg) {
        String dataset = seg[1];
        String fileName = seg[seg.length - 1];
        for (int i = 1; i < seg.length; i++) {
            if (seg[i].startsWith(".")) {
                String what = i == seg.length - 1 ? "file name" : "folder name";
                return invalid(key, dataset, fileName, KeyProblem.HIDDEN_FILE,
                        "hidden " + what + " '" + seg[i] + "' (starts with '.')");
            }
        }
        boolean reg = seg[2].equals(REG_FOLDER);
        int subsetIndex = reg ? 3 : 2;
        if (seg.length == 3 && fileName.equals(METADATA_FILE)) {
            return new ParsedKey(key, KeyKind.DATASET_METADATA, dataset, null, null, fileName,
                    stem(fileName), extension(fileName), null, null);
        }
        if (seg.length != subsetIndex + 2) {
            String where = seg.length < subsetIndex + 2
                    ? "directly in " + String.join("/", Arrays.copyOf(seg, seg.length - 1)) + "/"
                    : "in a nested folder (only <N>_<tokens>/<file> is read)";
            return datasetFile(key, dataset, null, fileName, "a file " + where);
        }
        String folder = seg[subsetIndex];
        String ext = extension(fileName);
        boolean image = IMAGE_EXTENSIONS.contains(ext);
        boolean caption = captionExtensions.contains(ext);
        if (!image && !caption) {
            return datasetFile(key, dataset, null, fileName, "not an image or caption in subset folder '" + folder + "'");
        }
        SubsetFolder subset = SubsetFolder.parse(folder, reg).orElse(null);
        if (subset == null) {
            return invalid(key, dataset, fileName, KeyProblem.BAD_FOLDER_NAME, SubsetFolder.problem(folder));
        }
        KeyKind kind = caption ? KeyKind.CAPTION : reg ? KeyKind.REG_IMAGE : KeyKind.TRAINING_IMAGE;
        return new ParsedKey(key, kind, dataset, null, subset, fileName, stem(fileName), ext, null, null);
    }

    /** A dataset file that is not in a usable subset folder: images are rejected, anything else ignored. */
    private ParsedKey datasetFile(String key, String dataset, SubsetFolder subset, String fileName, String where) {
        String ext = extension(fileName);
        if (UNSUPPORTED_IMAGE_EXTENSIONS.contains(ext)) {
            return invalid(key, dataset, fileName, KeyProblem.UNSUPPORTED_FORMAT,
                    "'" + fileName + "': ." + ext + " images are not supported (use png, jpg, jpeg, webp or bmp)");
        }
        if (IMAGE_EXTENSIONS.contains(ext) || captionExtensions.contains(ext)) {
            return invalid(key, dataset, fileName, KeyProblem.NOT_IN_SUBSET_FOLDER,
                    "'" + fileName + "' is " + where + "; images and captions go in datasets/<dataset>/<N>_<tokens>/");
        }
        return new ParsedKey(key, KeyKind.OTHER, dataset, null, subset, fileName, stem(fileName), ext, null, where);
    }

    private static ParsedKey invalid(String key, String dataset, String fileName, KeyProblem problem, String detail) {
        return new ParsedKey(key, KeyKind.INVALID, dataset, null, null, fileName,
                fileName == null ? null : stem(fileName), fileName == null ? null : extension(fileName), problem, detail);
    }

    private static ParsedKey simple(String key, KeyKind kind, String dataset, String job, String detail) {
        String fileName = key.endsWith("/") ? "" : key.substring(key.lastIndexOf('/') + 1);
        return new ParsedKey(key, kind, dataset, job, null, fileName, stem(fileName), extension(fileName), null, detail);
    }

    private static String stem(String fileName) {
        int dot = fileName.lastIndexOf('.');
        return dot <= 0 ? fileName : fileName.substring(0, dot);
    }

    private static String extension(String fileName) {
        int dot = fileName.lastIndexOf('.');
        return dot <= 0 ? "" : fileName.substring(dot + 1).toLowerCase(Locale.ROOT);
    }
}
