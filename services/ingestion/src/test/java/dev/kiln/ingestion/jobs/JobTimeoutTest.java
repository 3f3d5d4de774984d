package dev.kiln.ingestion.jobs;

import dev.kiln.ingestion.index.DatasetIndex;
import dev.kiln.ingestion.pipeline.OutgoingEvent;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.test.KafkaTestResource;
import dev.kiln.service.test.S3TestResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A job whose dataset never gets fully ingested waits, then fails after the planning timeout naming what is missing
 * (a JobTracker on the real S3 bucket, with its own index that never saw the image, and a clock the test moves).
 */
@QuarkusTest
@WithTestResource(value = KafkaTestResource.class, parallel = true)
@WithTestResource(value = S3TestResource.class, parallel = true)
class JobTimeoutTest {
    @Inject
    S3Storage storage;

    @Test
    void aJobWaitingPastThePlanTimeoutFailsNamingTheObjectsWithoutOutcome() {
        String job = "slow-" + UUID.randomUUID().toString().substring(0, 8);
        String image = "datasets/" + job + "/3_owl/never-announced.png";
        put(image, "whatever");
        put(ObjectKeys.jobSpec(job), "pretrained_model_name_or_path = \"models/sd15.safetensors\"\nresolution = 64\n"
                + "min_bucket_reso = 64\n");
        MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
        JobTracker tracker = new JobTracker(storage, new DatasetIndex(storage), Duration.ofMinutes(10), 1 << 20, clock);

        List<OutgoingEvent> submitted = tracker.submitted(ObjectKeys.jobSpec(job), job, "etag-1", "0:1");
        assertEquals(List.of("kiln.jobs.submitted", "kiln.training.progress"),
                submitted.stream().map(OutgoingEvent::topic).toList());
        clock.now = clock.now.plus(Duration.ofMinutes(9));
        assertEquals(List.of(), tracker.planReady().events(), "within the timeout it waits");

        clock.now = clock.now.plus(Duration.ofMinutes(2));
        List<OutgoingEvent> failed = tracker.planReady().events();
        assertEquals(1, failed.size());
        assertEquals("failed", failed.get(0).text("type"));
        assertEquals("planning", failed.get(0).text("stage"));
        String message = failed.get(0).text("message");
        assertTrue(message.contains("PT10M") && message.contains(image), message);
        assertEquals(JobState.Status.FAILED, tracker.state(job).status());
        tracker.saveDirty();
        assertTrue(storage.exists(JobTracker.stateKey(job)));
        assertEquals(List.of(), tracker.planReady().events(), "a failed job stays failed");
    }

    private void put(String key, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        storage.put(key, new ByteArrayInputStream(bytes), bytes.length, null);
    }

    private static final class MutableClock extends Clock {
        Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
