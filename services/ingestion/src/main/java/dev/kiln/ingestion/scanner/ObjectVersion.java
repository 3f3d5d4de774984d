package dev.kiln.ingestion.scanner;

import java.time.Instant;

/**
 * What the scanner remembers of one object: a change of ETag or size means a new version.
 *
 * @param lastModified kept so a created event carries the object's own time (and a stable sequencer)
 */
public record ObjectVersion(String eTag, long size, Instant lastModified) {

    /** Whether {@code other} is a different version of the same key. */
    boolean differsFrom(ObjectVersion other) {
        return size != other.size || !java.util.Objects.equals(eTag, other.eTag);
    }
}
