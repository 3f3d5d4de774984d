package dev.kiln.ingestion.image;

import dev.kiln.model.events.RejectionReason;

/**
 * Why an image or caption was refused: the {@code reason} and {@code message} of a
 * {@code kiln.images.rejected} event. The message names the key and what was wrong.
 */
public record Rejection(RejectionReason reason, String message) implements ValidationResult, CaptionResult {
    static Rejection of(RejectionReason reason, String key, String what) {
        return new Rejection(reason, key + ": " + what);
    }
}
