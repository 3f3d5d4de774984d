package dev.kiln.model.notify;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A bucket notification exactly as MinIO's Kafka target ({@code notify_kafka}) publishes it: the
 * {@code event.Log} shape of {@code internal/event/event.go} with one record.
 *
 * <p>Field names and omissions follow MinIO's Go structs: top-level {@code EventName}, {@code Key},
 * {@code Records}; inside each record camel-case names; {@code size}, {@code eTag}, {@code contentType},
 * {@code userMetadata} and {@code versionId} are left out when empty (Go {@code omitempty}), so an empty
 * object has no {@code size} and a removal carries only {@code key} and {@code sequencer}.
 *
 * <p>Keys: {@code Records[].s3.object.key} is URL-encoded ({@link S3KeyCodec}); the top-level {@code Key}
 * (also the Kafka record key) is {@code bucket/key} already decoded by MinIO's Kafka target. Use
 * {@link #objectKey()}, which decodes the record's key once. Unknown fields are ignored.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record S3EventNotification(
        @JsonProperty("EventName") String eventName,
        @JsonProperty("Key") String key,
        @JsonProperty("Records") List<EventRecord> records) {

    /** Prefix of every object-created event name ({@code s3:ObjectCreated:Put}, {@code ...:Copy}, ...). */
    public static final String CREATED_PREFIX = "s3:ObjectCreated:";
    /** Prefix of every object-removed event name ({@code s3:ObjectRemoved:Delete}, ...). */
    public static final String REMOVED_PREFIX = "s3:ObjectRemoved:";
    public static final String OBJECT_CREATED_PUT = "s3:ObjectCreated:Put";
    public static final String OBJECT_CREATED_COPY = "s3:ObjectCreated:Copy";
    public static final String OBJECT_CREATED_POST = "s3:ObjectCreated:Post";
    public static final String OBJECT_CREATED_MULTIPART = "s3:ObjectCreated:CompleteMultipartUpload";
    public static final String OBJECT_REMOVED_DELETE = "s3:ObjectRemoved:Delete";
    public static final String OBJECT_REMOVED_DELETE_MARKER = "s3:ObjectRemoved:DeleteMarkerCreated";

    public S3EventNotification {
        records = records == null ? List.of() : List.copyOf(records);
    }

    /** The notification's record (MinIO sends exactly one per message). */
    @JsonIgnore
    public EventRecord record() {
        if (records.isEmpty()) {
            throw new IllegalArgumentException("storage event '" + key + "' (" + eventName + ") has no Records");
        }
        return records.get(0);
    }

    /** The event name, from the record when the top level lacks it. */
    @JsonIgnore
    public String name() {
        return eventName != null ? eventName : record().eventName();
    }

    /** True for {@code s3:ObjectCreated:*} (put, post, copy, multipart complete, tagging, ...). */
    @JsonIgnore
    public boolean isCreated() {
        String n = name();
        return n != null && n.startsWith(CREATED_PREFIX);
    }

    /** True for {@code s3:ObjectRemoved:*}. */
    @JsonIgnore
    public boolean isRemoved() {
        String n = name();
        return n != null && n.startsWith(REMOVED_PREFIX);
    }

    /** The bucket name. */
    @JsonIgnore
    public String bucket() {
        return s3().bucket() == null ? null : s3().bucket().name();
    }

    /** The object key, URL-decoded exactly once. */
    @JsonIgnore
    public String objectKey() {
        S3Object object = s3().object();
        if (object == null) {
            throw new IllegalArgumentException("storage event '" + key + "': Records[0].s3.object is missing");
        }
        return S3KeyCodec.decode(object.key());
    }

    /** {@code bucket/key} with the key decoded: the identity consumers deduplicate on. */
    @JsonIgnore
    public String bucketAndKey() {
        return bucket() + "/" + objectKey();
    }

    /** Object size in bytes; 0 when absent (MinIO omits it for empty objects and removals). */
    @JsonIgnore
    public long size() {
        S3Object object = s3().object();
        return object == null || object.size() == null ? 0L : object.size();
    }

    /** The ETag without surrounding double quotes, or null when absent (removals). */
    @JsonIgnore
    public String eTag() {
        S3Object object = s3().object();
        if (object == null || object.eTag() == null || object.eTag().isEmpty()) {
            return null;
        }
        String e = object.eTag();
        if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) {
            e = e.substring(1, e.length() - 1);
        }
        return e;
    }

    /** The sequencer (upper-case hex); orders events of the same key. */
    @JsonIgnore
    public String sequencer() {
        S3Object object = s3().object();
        return object == null ? null : object.sequencer();
    }

    private S3Entity s3() {
        S3Entity s3 = record().s3();
        if (s3 == null) {
            throw new IllegalArgumentException("storage event '" + key + "': Records[0].s3 is missing");
        }
        return s3;
    }

    /** One S3 event record (MinIO {@code event.Event}). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record EventRecord(
            String eventVersion,
            String eventSource,
            String awsRegion,
            String eventTime,
            String eventName,
            Identity userIdentity,
            Map<String, String> requestParameters,
            Map<String, String> responseElements,
            S3Entity s3,
            Source source) {

        /** {@link #eventTime()} parsed (MinIO writes {@code 2006-01-02T15:04:05.000Z}). */
        @JsonIgnore
        public Instant eventInstant() {
            return Instant.parse(eventTime);
        }
    }

    /** The access key that caused the event. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Identity(String principalId) {
    }

    /** The {@code s3} block of a record. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record S3Entity(String s3SchemaVersion, String configurationId, Bucket bucket, S3Object object) {
    }

    /** Bucket name, owner and ARN ({@code arn:aws:s3:::<name>}). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Bucket(String name, Identity ownerIdentity, String arn) {
    }

    /** The object: URL-encoded key, and for creations size, ETag, content type and user metadata. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record S3Object(
            String key,
            @JsonInclude(JsonInclude.Include.NON_DEFAULT) Long size,
            @JsonInclude(JsonInclude.Include.NON_EMPTY) String eTag,
            @JsonInclude(JsonInclude.Include.NON_EMPTY) String contentType,
            @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, String> userMetadata,
            @JsonInclude(JsonInclude.Include.NON_EMPTY) String versionId,
            String sequencer) {
    }

    /** The client that triggered the event. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Source(String host, String port, String userAgent) {
    }
}
