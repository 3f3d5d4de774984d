package dev.kiln.model.keys;

/** What an object key stands for in the layout of ARCHITECTURE §2. */
public enum KeyKind {
    /** {@code datasets/<d>/<N>_<tokens>/<name>.<image ext>}. */
    TRAINING_IMAGE,
    /** {@code datasets/<d>/reg/<N>_<class>/<name>.<image ext>}. */
    REG_IMAGE,
    /** A sidecar caption ({@code .txt}, {@code .caption} by default) next to images in a subset folder. */
    CAPTION,
    /** {@code datasets/<d>/metadata.json}: kohya fine-tuning metadata. */
    DATASET_METADATA,
    /** {@code jobs/<job>/job.toml}: uploading it starts the job. */
    JOB_SPEC,
    /** Anything under {@code models/}. */
    MODEL,
    /** Anything under {@code cache/}. */
    CACHE,
    /** Anything under {@code outputs/}. */
    OUTPUT,
    /** A key ending in {@code /}: an empty "folder" object some S3 tools create; ignored. */
    DIRECTORY_MARKER,
    /** A well-formed key with no meaning to Kiln (ignored, with the reason in {@link ParsedKey#detail()}). */
    OTHER,
    /** A key that must be rejected; {@link ParsedKey#problem()} says why. */
    INVALID
}
