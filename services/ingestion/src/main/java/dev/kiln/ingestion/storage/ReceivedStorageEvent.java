package dev.kiln.ingestion.storage;

/**
 * One storage event as ingestion understood it.
 *
 * @param kind    {@code created}, {@code removed}, {@code other} or {@code invalid}
 * @param key     the decoded object key ({@code null} for an invalid event)
 * @param outcome what ingestion did with it, e.g. {@code recorded} or {@code rejected: unsafe-key}
 */
public record ReceivedStorageEvent(String kind, String eventName, String bucket, String key, String eTag, long size,
                                   String outcome) {
}
