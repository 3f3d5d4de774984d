package dev.kiln.service.storage;

/**
 * A failed S3 operation. The message names the operation, bucket and key, never the credentials.
 */
public class StorageException extends RuntimeException {
    private final String operation;
    private final String bucket;
    private final String key;
    private final boolean notFound;

    public StorageException(String operation, String bucket, String key, String detail, boolean notFound,
                            Throwable cause) {
        super("S3 " + operation + " of " + location(bucket, key) + " failed: " + detail, cause);
        this.operation = operation;
        this.bucket = bucket;
        this.key = key;
        this.notFound = notFound;
    }

    private static String location(String bucket, String key) {
        return key == null || key.isEmpty() ? "bucket '" + bucket + "'" : "s3://" + bucket + "/" + key;
    }

    public String operation() {
        return operation;
    }

    public String bucket() {
        return bucket;
    }

    /** The object key, or {@code null} for a bucket-level operation. */
    public String key() {
        return key;
    }

    /** Whether the object (or bucket) does not exist. */
    public boolean isNotFound() {
        return notFound;
    }
}
