package dev.kiln.model.keys;

/**
 * What an object key means in the Kiln layout. Fields that do not apply are null.
 *
 * @param key       the (decoded) key as given
 * @param kind      what the object is
 * @param dataset   the dataset name for keys under {@code datasets/}
 * @param job       the job name for keys under {@code jobs/} and {@code outputs/}
 * @param subset    the parsed subset folder for images and captions in a valid subset folder
 * @param fileName  the last path segment
 * @param stem      the file name without its extension: images and their captions share it
 * @param extension the extension in lower case without the dot ({@code "png"}), or {@code ""}
 * @param problem   why the key is {@link KeyKind#INVALID}, else null
 * @param detail    a human-readable reason for {@code INVALID}, {@code OTHER} and {@code DIRECTORY_MARKER}
 */
public record ParsedKey(String key, KeyKind kind, String dataset, String job, SubsetFolder subset,
                        String fileName, String stem, String extension, KeyProblem problem, String detail) {

    /** True unless the key is {@link KeyKind#INVALID}. */
    public boolean isValid() {
        return kind != KeyKind.INVALID;
    }

    /** True for training and regularization images. */
    public boolean isImage() {
        return kind == KeyKind.TRAINING_IMAGE || kind == KeyKind.REG_IMAGE;
    }

    /** The folder part of the key including the trailing {@code /} ({@code ""} for a top-level key). */
    public String folder() {
        int slash = key.lastIndexOf('/');
        return slash < 0 ? "" : key.substring(0, slash + 1);
    }

    /** The key of the sidecar with {@code captionExtension} ({@code ".txt"}) for this image or caption. */
    public String sidecarKey(String captionExtension) {
        return folder() + stem + KeyLayout.normalizeExtension(captionExtension);
    }
}
