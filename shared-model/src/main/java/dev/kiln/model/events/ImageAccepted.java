package dev.kiln.model.events;

import dev.kiln.model.keys.SubsetFolder;

/**
 * {@code kiln.images.accepted} (key = dataset): an image that passed validation.
 *
 * @param key       the decoded object key
 * @param dataset   the dataset name ({@code datasets/<dataset>/...})
 * @param sha256    SHA-256 of the object bytes, lower-case hex (the latent cache is keyed by it)
 * @param width     width in pixels
 * @param height    height in pixels
 * @param format    format read from the content
 * @param colorMode channels as stored
 * @param bitDepth  bits per channel as stored (8 or 16; 16-bit images are scaled to 8 for training)
 * @param sizeBytes object size in bytes
 * @param eTag      the object's ETag without quotes (with the key, the idempotency identity)
 * @param subset    the kohya subset folder (repeats, class tokens, regularization or not)
 * @param caption   the sidecar caption if one was found, else null (captioning attaches one later)
 */
public record ImageAccepted(String key, String dataset, String sha256, int width, int height, ImageFormat format,
                            ColorMode colorMode, int bitDepth, long sizeBytes, String eTag, SubsetFolder subset,
                            String caption) {

    public ImageAccepted {
        Fields.requiredText(key, "images.accepted", "key");
        Fields.requiredText(dataset, "images.accepted", "dataset");
        Fields.requiredText(sha256, "images.accepted", "sha256");
        Fields.required(format, "images.accepted", "format");
        Fields.required(colorMode, "images.accepted", "colorMode");
        Fields.required(subset, "images.accepted", "subset");
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("images.accepted: width and height must be positive, got "
                    + width + "x" + height);
        }
    }
}
