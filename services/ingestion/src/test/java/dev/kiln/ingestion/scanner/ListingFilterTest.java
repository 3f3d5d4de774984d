package dev.kiln.ingestion.scanner;

import dev.kiln.service.storage.ObjectInfo;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Uploads still in progress (seen on s3proxy's filesystem backend: a temporary blob without ETag) are not announced. */
class ListingFilterTest {

    @Test
    void onlyObjectsWithAnETagAreFinished() {
        Instant now = Instant.now();
        assertTrue(BucketScanner.isComplete(new ObjectInfo("datasets/d/1_a/x.png", 6,
                "b1946ac92492d2347c6235b4d2611184", now, null)));
        assertFalse(BucketScanner.isComplete(new ObjectInfo(
                "datasets/d/1_a/x.png-26c7a507-f2fe-40cb-9284-9b68ff6a766f", 6, null, now, null)));
        assertFalse(BucketScanner.isComplete(new ObjectInfo("datasets/d/1_a/y.png", 0, "", now, null)));
    }
}
