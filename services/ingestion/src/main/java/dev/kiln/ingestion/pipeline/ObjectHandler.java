package dev.kiln.ingestion.pipeline;

import dev.kiln.ingestion.image.CaptionReader;
import dev.kiln.ingestion.image.CaptionResult;
import dev.kiln.ingestion.image.Rejection;
import dev.kiln.ingestion.image.ValidationPool;
import dev.kiln.ingestion.image.ValidationResult;
import dev.kiln.ingestion.index.DatasetIndex;
import dev.kiln.ingestion.index.ObjectRecord;
import dev.kiln.ingestion.index.ObjectRecord.Status;
import dev.kiln.ingestion.jobs.JobTracker;
import dev.kiln.model.dataset.Captions;
import dev.kiln.model.events.ImageAccepted;
import dev.kiln.model.events.ImageRejected;
import dev.kiln.model.events.RejectionReason;
import dev.kiln.model.keys.KeyKind;
import dev.kiln.model.keys.KeyLayout;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.model.keys.ParsedKey;
import dev.kiln.model.notify.S3EventNotification;
import dev.kiln.service.storage.ObjectInfo;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Turns one storage event into its outcome: every object under {@code datasets/} ends accepted, rejected (with a
 * reason), attached as a caption, or ignored with a reason, recorded in the {@link DatasetIndex}; job files go to
 * the {@link JobTracker}. Images and captions are read on the {@link ValidationPool}'s threads.
 *
 * <p>Idempotent on key + ETag: a version already in the index changes nothing, except that the very storage
 * record that produced it (same stamp), delivered again because its batch never committed, publishes the same
 * events again.
 */
public final class ObjectHandler {
    private final S3Storage storage;
    private final DatasetIndex index;
    private final ValidationPool pool;
    private final KeyLayout layout;
    private final List<String> captionExtensions;
    private final JobTracker jobs;

    /** What came of one storage event: the events to publish with its batch and a line for the log. */
    public record Handled(List<OutgoingEvent> events, String outcome) {
        static Handled nothing(String outcome) {
            return new Handled(List.of(), outcome);
        }
    }

    public ObjectHandler(S3Storage storage, DatasetIndex index, ValidationPool pool, List<String> captionExtensions,
                         JobTracker jobs) {
        this.storage = storage;
        this.index = index;
        this.pool = pool;
        this.layout = new KeyLayout(captionExtensions);
        this.captionExtensions = List.copyOf(captionExtensions);
        this.jobs = jobs;
    }

    /**
     * Handles a created or removed object. {@code stamp} identifies the storage record ({@code partition:offset}).
     * The future fails only when storage could not be read; the batch is then retried.
     */
    public CompletableFuture<Handled> handle(S3EventNotification event, String key, String stamp)
            throws InterruptedException {
        if (event.isRemoved()) {
            return CompletableFuture.completedFuture(removed(key, stamp));
        }
        if (!event.isCreated()) {
            return CompletableFuture.completedFuture(Handled.nothing("ignored: event " + event.name()));
        }
        String eTag = event.eTag();
        String unsafe = ObjectKeys.problem(key);
        if (unsafe != null) {
            return CompletableFuture.completedFuture(rejectUnsafe(key, eTag, stamp, unsafe));
        }
        if (!key.startsWith(ObjectKeys.DATASETS) && !key.startsWith(ObjectKeys.JOBS)) {
            return CompletableFuture.completedFuture(Handled.nothing("ignored: outside datasets/ and jobs/"));
        }
        ParsedKey parsed = layout.parse(key);
        if (parsed.kind() == KeyKind.JOB_SPEC) {
            return pool.run(v -> {
                List<OutgoingEvent> events = jobs.submitted(key, parsed.job(), eTag, stamp);
                boolean failed = events.stream().anyMatch(e -> "failed".equals(e.text("type")));
                return new Handled(events, events.isEmpty() ? "job unchanged" : failed ? "job failed" : "job submitted");
            });
        }
        if (key.startsWith(ObjectKeys.JOBS)) {
            return CompletableFuture.completedFuture(Handled.nothing("ignored: " + parsed.detail()));
        }
        Handled known = alreadyKnown(key, eTag, stamp);
        if (known != null) {
            return CompletableFuture.completedFuture(known);
        }
        return switch (parsed.kind()) {
            case INVALID -> CompletableFuture.completedFuture(reject(parsed, eTag, stamp,
                    RejectionReason.of(parsed.problem()), key + ": " + parsed.detail(), null));
            case TRAINING_IMAGE, REG_IMAGE -> pool.run(v -> image(parsed, stamp, v));
            case CAPTION -> pool.run(v -> caption(parsed, eTag, stamp));
            default -> CompletableFuture.completedFuture(ignore(parsed, eTag, stamp));
        };
    }

    /** True for a caption sidecar key (with one of the configured extensions, in a subset folder). */
    public boolean isCaption(String key) {
        return ObjectKeys.problem(key) == null && layout.parse(key).kind() == KeyKind.CAPTION;
    }

    /** The outcome of a version the index already has, or null when it has not. */
    private Handled alreadyKnown(String key, String eTag, String stamp) {
        ObjectRecord existing = index.get(key);
        if (existing == null || eTag == null || !eTag.equals(existing.eTag())) {
            return null;
        }
        if (stamp.equals(existing.stamp())) {
            return new Handled(existing.emitted(), "replayed: " + existing.status().name().toLowerCase());
        }
        return Handled.nothing("unchanged: this version is already " + existing.status().name().toLowerCase());
    }

    private Handled rejectUnsafe(String key, String eTag, String stamp, String problem) {
        Handled known = alreadyKnown(key, eTag, stamp);
        if (known != null) {
            return known;
        }
        ImageRejected rejected = new ImageRejected(key, null, RejectionReason.UNSAFE_KEY,
                "object key '" + printable(key) + "' is unsafe (" + problem + "): rename the object", eTag);
        // the Kafka key is the dataset, which an unsafe key does not name reliably
        List<OutgoingEvent> events = List.of(OutgoingEvent.of(rejected, null, key));
        index.put(ObjectRecord.outcome(key, eTag, stamp, Status.REJECTED, RejectionReason.UNSAFE_KEY,
                rejected.message(), events));
        return new Handled(events, "rejected: " + RejectionReason.UNSAFE_KEY.wire());
    }

    private Handled reject(ParsedKey parsed, String eTag, String stamp, RejectionReason reason, String message,
                           ObjectRecord image) {
        ImageRejected rejected = new ImageRejected(parsed.key(), parsed.dataset(), reason, message, eTag);
        List<OutgoingEvent> events = List.of(OutgoingEvent.of(rejected, parsed.dataset(), parsed.key()));
        ObjectRecord record = image == null
                ? ObjectRecord.outcome(parsed.key(), eTag, stamp, Status.REJECTED, reason, message, events)
                : image.withOutcome(reason == RejectionReason.DUPLICATE ? Status.DUPLICATE : Status.REJECTED, stamp,
                image.duplicateOf(), reason, message, events);
        List<OutgoingEvent> promoted = replace(record, stamp);
        return new Handled(concat(events, promoted), "rejected: " + reason.wire());
    }

    private Handled ignore(ParsedKey parsed, String eTag, String stamp) {
        String why = parsed.kind() == KeyKind.DATASET_METADATA
                ? "fine-tuning metadata (read when a job plans with it)" : parsed.detail();
        replace(ObjectRecord.outcome(parsed.key(), eTag, stamp, Status.IGNORED, null, why, List.of()), stamp);
        return Handled.nothing("ignored: " + why);
    }

    /** Validates an image (on a pool thread): stat for the current version, then one streaming read. */
    private Handled image(ParsedKey parsed, String stamp, ValidationPool.Validation validation) {
        String key = parsed.key();
        ObjectInfo info;
        try {
            info = storage.stat(key);
        } catch (StorageException e) {
            if (e.isNotFound()) {
                return Handled.nothing("ignored: the object no longer exists (deleted before it was read)");
            }
            throw e;
        }
        Handled known = alreadyKnown(key, info.eTag(), stamp);
        if (known != null) {
            return known;
        }
        ValidationResult result;
        try (InputStream in = storage.get(key)) {
            result = validation.validate(key, in, info.size());
        } catch (IOException e) {
            throw new UncheckedIOException(key + ": " + e.getMessage(), e);
        }
        if (result instanceof Rejection rejection) {
            return reject(parsed, info.eTag(), stamp, rejection.reason(), rejection.message(), null);
        }
        ValidationResult.Accepted ok = (ValidationResult.Accepted) result;
        ObjectRecord image = new ObjectRecord(key, info.eTag(), stamp, Status.ACCEPTED, ok.sha256(), ok.width(),
                ok.height(), ok.format(), ok.colorMode(), ok.bitDepth(), ok.byteSize(), null, null, null, null, null,
                null, List.of());
        synchronized (index) { // the duplicate check and the insert are one step
            ObjectRecord first = index.withSha256(parsed.dataset(), ok.sha256()).stream()
                    .filter(r -> r.isAccepted() && !r.key().equals(key) && r.folder().equals(parsed.folder()))
                    .findFirst().orElse(null); // in key order: the first accepted one
            if (first != null) {
                String message = key + ": the same bytes (sha256 " + ok.sha256() + ") as " + first.key()
                        + ", already accepted in this folder: the image is trained once, under that key";
                return reject(parsed, info.eTag(), stamp, RejectionReason.DUPLICATE, message,
                        image.withOutcome(Status.DUPLICATE, stamp, first.key(), null, null, List.of()));
            }
            List<OutgoingEvent> events = List.of(acceptedEvent(image, parsed));
            List<OutgoingEvent> promoted = replace(image.withOutcome(Status.ACCEPTED, stamp, null, null, null, events),
                    stamp);
            return new Handled(concat(events, promoted), "accepted");
        }
    }

    private Handled caption(ParsedKey parsed, String eTag, String stamp) {
        String key = parsed.key();
        byte[] bytes;
        try (InputStream in = storage.get(key)) {
            bytes = in.readNBytes(CaptionReader.MAX_CAPTION_BYTES + 1);
        } catch (StorageException e) {
            if (e.isNotFound()) {
                return Handled.nothing("ignored: the object no longer exists (deleted before it was read)");
            }
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException(key + ": " + e.getMessage(), e);
        }
        // with wildcards any non-blank line counts: the planner decides per subset which lines it uses
        CaptionResult result = CaptionReader.read(key, bytes, true);
        if (result instanceof Rejection rejection) {
            return reject(parsed, eTag, stamp, rejection.reason(),
                    rejection.message() + "; its image falls back to its class tokens", null);
        }
        replace(ObjectRecord.caption(key, eTag, stamp, new String(bytes, StandardCharsets.UTF_8)), stamp);
        ObjectRecord image = imageOf(parsed);
        return Handled.nothing(image == null ? "caption stored: attached when its image arrives"
                : "caption attached to " + image.key());
    }

    private Handled removed(String key, String stamp) {
        ParsedKey parsed = layout.parse(key);
        if (parsed.kind() == KeyKind.JOB_SPEC) {
            return new Handled(jobs.removed(parsed.job()), "job file removed");
        }
        String dataset = DatasetIndex.datasetOf(key);
        List<ObjectRecord> replayed = index.find(dataset, r -> stamp.equals(r.stamp()));
        if (!replayed.isEmpty()) { // this removal promoted a duplicate before its batch committed
            return new Handled(replayed.stream().flatMap(r -> r.emitted().stream()).toList(), "replayed: removal");
        }
        ObjectRecord old;
        List<OutgoingEvent> promoted;
        synchronized (index) {
            old = index.get(key);
            if (old == null) {
                return Handled.nothing("removed: no record");
            }
            index.remove(key);
            promoted = promoteDuplicateOf(old, stamp);
        }
        return new Handled(promoted, "removed: record of the " + old.status().name().toLowerCase() + " object deleted");
    }

    /** Stores {@code record}; if it replaces an accepted image that others duplicate, promotes one of them. */
    private List<OutgoingEvent> replace(ObjectRecord record, String stamp) {
        synchronized (index) {
            ObjectRecord old = index.get(record.key());
            index.put(record);
            if (old != null && (!record.isAccepted() || !Objects.equals(old.sha256(), record.sha256()))) {
                return promoteDuplicateOf(old, stamp);
            }
            return List.of();
        }
    }

    /** When an accepted image goes, the first duplicate of it is accepted instead (the others now point to it). */
    private List<OutgoingEvent> promoteDuplicateOf(ObjectRecord gone, String stamp) {
        if (!gone.isAccepted()) {
            return List.of();
        }
        String dataset = DatasetIndex.datasetOf(gone.key());
        // a duplicate has the bytes of the image it duplicates; in key order, the first one inherits
        List<ObjectRecord> duplicates = index.withSha256(dataset, gone.sha256()).stream()
                .filter(r -> r.status() == Status.DUPLICATE && gone.key().equals(r.duplicateOf())).toList();
        if (duplicates.isEmpty()) {
            return List.of();
        }
        ObjectRecord heir = duplicates.get(0);
        ParsedKey parsed = layout.parse(heir.key());
        List<OutgoingEvent> events = List.of(acceptedEvent(heir, parsed));
        index.put(heir.withOutcome(Status.ACCEPTED, stamp, null, null, null, events));
        for (ObjectRecord other : duplicates.subList(1, duplicates.size())) {
            index.put(other.withOutcome(Status.DUPLICATE, other.stamp(), heir.key(), other.reason(), other.message(),
                    other.emitted()));
        }
        return events;
    }

    private OutgoingEvent acceptedEvent(ObjectRecord image, ParsedKey parsed) {
        ImageAccepted accepted = new ImageAccepted(image.key(), parsed.dataset(), image.sha256(), image.width(),
                image.height(), image.format(), image.colorMode(), image.bitDepth(), image.sizeBytes(), image.eTag(),
                parsed.subset(), sidecarCaption(parsed));
        return OutgoingEvent.of(accepted, parsed.dataset(), image.key());
    }

    /** The caption of the first configured sidecar extension the index has for this image, or null. */
    private String sidecarCaption(ParsedKey image) {
        for (String extension : captionExtensions) {
            ObjectRecord sidecar = index.get(image.sidecarKey(extension));
            if (sidecar != null && sidecar.status() == Status.CAPTION) {
                String caption = Captions.fromSidecar(sidecar.captionText(), false);
                if (caption != null && !caption.isEmpty()) {
                    return caption;
                }
            }
        }
        return null;
    }

    /** The image a caption sidecar belongs to (same folder and stem), or null. */
    private ObjectRecord imageOf(ParsedKey caption) {
        return index.under(caption.folder() + caption.stem() + ".").stream()
                .filter(r -> r.sha256() != null && r.folder().equals(caption.folder())
                        && stem(r.key()).equals(caption.stem())).findFirst().orElse(null);
    }

    private static String stem(String key) {
        String name = key.substring(key.lastIndexOf('/') + 1);
        int dot = name.lastIndexOf('.');
        return dot <= 0 ? name : name.substring(0, dot);
    }

    private static List<OutgoingEvent> concat(List<OutgoingEvent> a, List<OutgoingEvent> b) {
        if (b.isEmpty()) {
            return a;
        }
        List<OutgoingEvent> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** Control characters escaped, so a hostile key cannot forge log lines or messages. */
    public static String printable(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> {
            if (Character.isISOControl(cp) || cp == '"') {
                out.append(String.format("\\u%04X", cp));
            } else {
                out.appendCodePoint(cp);
            }
        });
        return out.toString();
    }
}
