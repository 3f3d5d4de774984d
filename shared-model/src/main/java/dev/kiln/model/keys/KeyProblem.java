package dev.kiln.model.keys;

/** Why a key under {@code datasets/} cannot be used. */
public enum KeyProblem {
    /** Fails {@link ObjectKeys#problem(String)}: {@code ..}, leading {@code /}, control characters, too long, ... */
    UNSAFE_KEY,
    /** The subset folder is not {@code <N>_<tokens>} with an integer {@code N >= 1} (sd-scripts skips such folders). */
    BAD_FOLDER_NAME,
    /** A file or folder name starting with {@code .} (sd-scripts would pick such images up silently). */
    HIDDEN_FILE,
    /** An image outside a subset folder: directly in the dataset or {@code reg/}, or in a nested folder. */
    NOT_IN_SUBSET_FOLDER,
    /** An image-like extension Kiln does not read (gif, tiff, avif, ...). */
    UNSUPPORTED_FORMAT
}
