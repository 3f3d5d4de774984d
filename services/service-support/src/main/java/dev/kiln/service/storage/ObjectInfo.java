package dev.kiln.service.storage;

import java.time.Instant;

/**
 * What the store says about one object.
 *
 * @param eTag the entity tag without quotes ({@code md5} or, after a multipart upload, {@code md5-parts})
 * @param contentType may be {@code null} where a listing does not report it
 */
public record ObjectInfo(String key, long size, String eTag, Instant lastModified, String contentType) {
}
