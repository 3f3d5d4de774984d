package dev.kiln.ingestion.index;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.kiln.ingestion.pipeline.OutgoingEvent;
import dev.kiln.model.events.CaptionSource;
import dev.kiln.model.events.ColorMode;
import dev.kiln.model.events.ImageFormat;
import dev.kiln.model.events.RejectionReason;

import java.util.List;

/**
 * What ingestion knows about one object version under {@code datasets/}: its outcome and the facts the planner
 * needs. Immutable; the index replaces a record when something changes.
 *
 * @param key              the decoded object key
 * @param eTag             the version this outcome is for (with the key, the idempotency identity)
 * @param stamp            the storage record that produced it ({@code partition:offset} of kiln.storage.events):
 *                         the same record delivered again before its batch committed publishes {@code emitted}
 *                         again; any other delivery of the same key and ETag changes nothing
 * @param status           the outcome
 * @param sha256           image content hash (accepted and duplicate images)
 * @param width            image width (accepted and duplicate images)
 * @param height           image height
 * @param format           format read from the content
 * @param colorMode        stored colour mode
 * @param bitDepth         stored bits per sample
 * @param sizeBytes        object size
 * @param duplicateOf      for {@code DUPLICATE}: the accepted image with the same bytes in the same folder
 * @param reason           for {@code REJECTED} and {@code DUPLICATE}: the rejection reason
 * @param message          for rejected and ignored objects: why
 * @param captionText      for {@code CAPTION}: the sidecar's text (valid UTF-8, as uploaded)
 * @param generatedCaption for images: the caption {@code kiln.images.captioned} reported, if any
 * @param captionSource    its source
 * @param emitted          the events published for this version
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ObjectRecord(String key, String eTag, String stamp, Status status,
                           String sha256, Integer width, Integer height, ImageFormat format, ColorMode colorMode,
                           Integer bitDepth, Long sizeBytes, String duplicateOf,
                           RejectionReason reason, String message, String captionText,
                           String generatedCaption, CaptionSource captionSource, List<OutgoingEvent> emitted) {

    /** The outcome of one object version. */
    public enum Status {
        /** A valid image, published on kiln.images.accepted. */
        ACCEPTED,
        /** Published on kiln.images.rejected (for a caption: its image falls back to class tokens). */
        REJECTED,
        /** A valid image whose bytes another image of its folder already has: rejected as duplicate. */
        DUPLICATE,
        /** A valid caption sidecar, attached to its image (now or when the image arrives). */
        CAPTION,
        /** Not an image or caption (metadata.json, notes, folder markers): logged with the reason. */
        IGNORED
    }

    public ObjectRecord {
        emitted = emitted == null ? List.of() : List.copyOf(emitted);
    }

    /** A record with only the outcome (rejected, ignored). */
    public static ObjectRecord outcome(String key, String eTag, String stamp, Status status, RejectionReason reason,
                                       String message, List<OutgoingEvent> emitted) {
        return new ObjectRecord(key, eTag, stamp, status, null, null, null, null, null, null, null, null, reason,
                message, null, null, null, emitted);
    }

    /** A valid caption sidecar. */
    public static ObjectRecord caption(String key, String eTag, String stamp, String text) {
        return new ObjectRecord(key, eTag, stamp, Status.CAPTION, null, null, null, null, null, null, null, null,
                null, null, text, null, null, List.of());
    }

    /** True for an accepted image: one the planner lists. */
    public boolean isAccepted() {
        return status == Status.ACCEPTED;
    }

    /** This record with another status, stamp and events (a duplicate promoted, an image re-published). */
    public ObjectRecord withOutcome(Status newStatus, String newStamp, String newDuplicateOf, RejectionReason newReason,
                                    String newMessage, List<OutgoingEvent> newEmitted) {
        return new ObjectRecord(key, eTag, newStamp, newStatus, sha256, width, height, format, colorMode, bitDepth,
                sizeBytes, newDuplicateOf, newReason, newMessage, captionText, generatedCaption, captionSource,
                newEmitted);
    }

    /** This image with the caption the captioning service reported. */
    public ObjectRecord withGeneratedCaption(String caption, CaptionSource source) {
        return new ObjectRecord(key, eTag, stamp, status, sha256, width, height, format, colorMode, bitDepth,
                sizeBytes, duplicateOf, reason, message, captionText, caption, source, emitted);
    }

    /** The folder part of the key, with its trailing {@code /}. */
    public String folder() {
        return key.substring(0, key.lastIndexOf('/') + 1);
    }
}
