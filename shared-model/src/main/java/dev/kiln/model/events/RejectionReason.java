package dev.kiln.model.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.kiln.model.keys.KeyProblem;

/**
 * Why an object under {@code datasets/} was rejected ({@code kiln.images.rejected} {@code reason}).
 * On the wire: lower-case words joined by {@code -}, e.g. {@code empty-object}, {@code bad-folder-name}.
 */
public enum RejectionReason {
    /** The object has zero bytes. */
    EMPTY_OBJECT,
    /** The header names a supported format but the data cannot be decoded (truncated, bad checksum, ...). */
    CORRUPT,
    /** The content is not an image at all, whatever its extension says. */
    NOT_AN_IMAGE,
    /** An image in a format Kiln does not read (gif, tiff, avif, ...), by extension or content. */
    UNSUPPORTED_FORMAT,
    /** Object size or decoded pixel count over the configured limits (checked from the header, before pixels). */
    TOO_LARGE,
    /** The key is unsafe: {@code ..} or {@code .} segments, leading {@code /}, control characters, over 1024 bytes, ... */
    UNSAFE_KEY,
    /** The subset folder is not {@code <N>_<tokens>} with {@code N >= 1} (sd-scripts would skip the folder). */
    BAD_FOLDER_NAME,
    /** The file or one of its folders starts with {@code .}. */
    HIDDEN_FILE,
    /** The image is not directly inside a subset folder (dataset root, {@code reg/} itself, or nested deeper). */
    NOT_IN_SUBSET_FOLDER,
    /** A caption sidecar that is empty or not UTF-8; its image falls back to class tokens. */
    INVALID_CAPTION,
    /**
     * The same bytes (SHA-256) as an image already accepted in the same subset folder: trained once, under the
     * first key; the message names it.
     */
    DUPLICATE;

    /** The JSON form. */
    @JsonValue
    public String wire() {
        return WireNames.of(this);
    }

    /** Parses the JSON form; an unknown value gives an error listing the allowed ones. */
    @JsonCreator
    public static RejectionReason fromWire(String wire) {
        return WireNames.parse(RejectionReason.class, wire);
    }

    /** The rejection reason for a key the layout parser marked invalid. */
    public static RejectionReason of(KeyProblem problem) {
        return switch (problem) {
            case UNSAFE_KEY -> UNSAFE_KEY;
            case BAD_FOLDER_NAME -> BAD_FOLDER_NAME;
            case HIDDEN_FILE -> HIDDEN_FILE;
            case NOT_IN_SUBSET_FOLDER -> NOT_IN_SUBSET_FOLDER;
            case UNSUPPORTED_FORMAT -> UNSUPPORTED_FORMAT;
        };
    }
}
