package dev.kiln.model.notify;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Builds MinIO-format bucket notifications for objects seen without MinIO's help (the ingestion bucket
 * scanner on s3proxy), with the same field values MinIO's {@code eventArgs.ToEvent} fills in, so consumers
 * cannot tell the two producers apart.
 */
public final class S3EventNotifications {

    /** The principal named in scanner-made events (never a credential). */
    public static final String SCANNER_PRINCIPAL = "kiln-scanner";

    // MinIO's event.AMZTimeFormat: millisecond precision, literal Z.
    private static final DateTimeFormatter AMZ_TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

    private S3EventNotifications() {
    }

    /**
     * An {@code s3:ObjectCreated:Put} event for an object found in {@code bucket}.
     *
     * @param lastModified the object's modification time: as in MinIO it gives the sequencer, so the same
     *                     object version always yields the same event (redeliveries are idempotent)
     */
    public static S3EventNotification created(String bucket, String key, long size, String eTag,
                                              String contentType, Instant lastModified) {
        Objects.requireNonNull(lastModified, "lastModified");
        Map<String, String> userMetadata = contentType == null ? Map.of() : Map.of("content-type", contentType);
        S3EventNotification.S3Object object = new S3EventNotification.S3Object(
                S3KeyCodec.encode(key), size, eTag, contentType, userMetadata, null, sequencer(lastModified));
        return build(S3EventNotification.OBJECT_CREATED_PUT, bucket, key, object, lastModified);
    }

    /** An {@code s3:ObjectRemoved:Delete} event: like MinIO's, it carries only the key and a sequencer. */
    public static S3EventNotification removed(String bucket, String key, Instant time) {
        Objects.requireNonNull(time, "time");
        S3EventNotification.S3Object object = new S3EventNotification.S3Object(
                S3KeyCodec.encode(key), null, null, null, null, null, sequencer(time));
        return build(S3EventNotification.OBJECT_REMOVED_DELETE, bucket, key, object, time);
    }

    /** MinIO's sequencer: the time in nanoseconds since the epoch as upper-case hex. */
    public static String sequencer(Instant time) {
        long nanos = ChronoUnit.NANOS.between(Instant.EPOCH, time);
        return Long.toHexString(nanos).toUpperCase(Locale.ROOT);
    }

    private static S3EventNotification build(String eventName, String bucket, String key,
                                             S3EventNotification.S3Object object, Instant time) {
        Objects.requireNonNull(bucket, "bucket");
        Objects.requireNonNull(key, "key");
        S3EventNotification.Identity principal = new S3EventNotification.Identity(SCANNER_PRINCIPAL);
        S3EventNotification.EventRecord record = new S3EventNotification.EventRecord(
                "2.0", "minio:s3", "", AMZ_TIME.format(time), eventName, principal,
                Map.of("principalId", SCANNER_PRINCIPAL, "region", "", "sourceIPAddress", ""),
                Map.of(),
                new S3EventNotification.S3Entity("1.0", "Config",
                        new S3EventNotification.Bucket(bucket, principal, "arn:aws:s3:::" + bucket), object),
                new S3EventNotification.Source("", "", SCANNER_PRINCIPAL));
        return new S3EventNotification(eventName, bucket + "/" + key, List.of(record));
    }
}
