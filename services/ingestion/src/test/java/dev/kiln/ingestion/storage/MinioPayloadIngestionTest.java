package dev.kiln.ingestion.storage;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.model.json.Json;
import dev.kiln.model.notify.S3EventNotification;
import dev.kiln.model.topics.Topics;
import dev.kiln.service.test.KafkaTestResource;
import dev.kiln.service.test.S3TestResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kafka.InjectKafkaCompanion;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import jakarta.inject.Inject;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What MinIO's notify_kafka sends (the checked-in samples in shared-model, with URL-encoded object keys and no
 * CloudEvent headers) is consumed like the scanner's events: each arrives with its key decoded exactly once.
 */
@QuarkusTest
@WithTestResource(value = KafkaTestResource.class, parallel = true)
@WithTestResource(value = S3TestResource.class, parallel = true)
class MinioPayloadIngestionTest {
    /** The samples live with the notification model they document (shared-model's test resources). */
    private static final Path SAMPLES = Path.of("..", "..", "shared-model", "src", "test", "resources", "minio");
    private static final Duration WAIT = Duration.ofSeconds(30);

    @InjectKafkaCompanion
    KafkaCompanion companion;

    @Inject
    RecentStorageEvents recent;

    @Test
    void everyMinioSampleIsConsumedWithItsDecodedKey() throws IOException {
        List<Path> samples;
        try (Stream<Path> files = Files.list(SAMPLES)) {
            samples = files.filter(f -> f.toString().endsWith(".json")).sorted().toList();
        }
        assertFalse(samples.isEmpty(), "MinIO samples in " + SAMPLES.toAbsolutePath());
        for (Path sample : samples) {
            String json = Files.readString(sample, StandardCharsets.UTF_8);
            S3EventNotification notification = Json.read(json, S3EventNotification.class);
            // MinIO's record key is the top-level Key: "bucket/<decoded key>"
            String recordKey = Json.read(json, JsonNode.class).path("Key").asText();
            companion.produceStrings().fromRecords(new ProducerRecord<>(Topics.STORAGE_EVENTS, recordKey, json))
                    .awaitCompletion(WAIT);

            String expectedKey = notification.objectKey();
            assertEquals(recordKey, notification.bucket() + "/" + expectedKey, sample + ": the decoded key matches Key");
            String expectedKind = notification.isRemoved() ? "removed" : "created";
            awaitConsumed(sample, expectedKey, expectedKind);
        }
    }

    private void awaitConsumed(Path sample, String key, String kind) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (recent.all().stream().noneMatch(r -> key.equals(r.key()) && kind.equals(r.kind()))) {
            if (System.nanoTime() > deadline) {
                fail(sample.getFileName() + ": ingestion did not record a '" + kind + "' event for key '" + key
                        + "'; it has: " + recent.all());
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
    }
}
