package dev.kiln.model.events;

/**
 * {@code kiln.images.rejected} (key = dataset): an object under {@code datasets/} that cannot be used.
 *
 * @param key     the decoded object key (for {@code unsafe-key}, as received)
 * @param dataset the dataset name, or null when the key has none (e.g. an unsafe key)
 * @param reason  the reason code
 * @param message a human-readable explanation naming the file and what to do
 * @param eTag    the object's ETag when known, else null
 */
public record ImageRejected(String key, String dataset, RejectionReason reason, String message, String eTag) {

    public ImageRejected {
        Fields.required(key, "images.rejected", "key");
        Fields.required(reason, "images.rejected", "reason");
        Fields.requiredText(message, "images.rejected", "message");
    }
}
