package dev.kiln.ingestion.storage;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.model.events.EventSchemas;
import dev.kiln.model.json.Json;
import dev.kiln.model.notify.S3EventNotifications;
import dev.kiln.model.topics.Topics;
import dev.kiln.service.test.KafkaTestResource;
import dev.kiln.service.test.S3TestResource;
import dev.kiln.service.test.TopicWatcher;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kafka.InjectKafkaCompanion;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Ingestion's consumer of kiln.storage.events: MinIO's plain records, rejections as binary CloudEvents. */
@QuarkusTest
@WithTestResource(value = KafkaTestResource.class, parallel = true)
@WithTestResource(value = S3TestResource.class, parallel = true)
class StorageEventConsumerTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @InjectKafkaCompanion
    KafkaCompanion companion;

    @Inject
    RecentStorageEvents recent;

    @Inject
    MeterRegistry registry;

    @Test
    void anUnsafeKeyIsRejectedWithABinaryCloudEvent() {
        String bucket = S3TestResource.bucket();
        String key = "datasets/cats/../../escape-" + UUID.randomUUID().toString().substring(0, 8) + ".png";
        String notification = Json.write(S3EventNotifications.created(bucket, key, 10, "0123456789abcdef0123456789abcdef",
                "image/png", Instant.now()));
        Instant before = Instant.now().minusSeconds(1);

        try (TopicWatcher rejected = TopicWatcher.watch(companion, Topics.IMAGES_REJECTED)) {
            // as MinIO sends it: no CloudEvent headers, key bucket/key
            companion.produceStrings().fromRecords(new ProducerRecord<>(Topics.STORAGE_EVENTS, bucket + "/" + key,
                    notification)).awaitCompletion(WAIT);

            ConsumerRecord<String, String> record = rejected.await(r -> key.equals(TopicWatcher.header(r, "ce_subject")), WAIT);
            Map<String, String> headers = TopicWatcher.headers(record);
            assertEquals("1.0", headers.get("ce_specversion"));
            assertFalse(headers.getOrDefault("ce_id", "").isBlank(), "ce_id");
            assertEquals("kiln.images.rejected.v1", headers.get("ce_type"));
            assertEquals("/kiln/ingestion", headers.get("ce_source"));
            Instant time = OffsetDateTime.parse(headers.get("ce_time")).toInstant();
            assertTrue(!time.isBefore(before) && time.isBefore(Instant.now().plusSeconds(1)), "ce_time " + time);

            JsonNode body = Json.read(record.value(), JsonNode.class);
            assertEquals(List.of(), EventSchemas.validateRecord(Topics.IMAGES_REJECTED, headers, body));
            assertEquals("unsafe-key", body.path("reason").asText());
            assertEquals(key, body.path("key").asText());
            assertTrue(body.path("dataset").isNull());
            assertTrue(body.path("message").asText().contains("'..' segment"), body.toString());
        }
        awaitConsumed(r -> key.equals(r.key()) && r.outcome().equals("rejected: unsafe-key"));
    }

    @Test
    void aMalformedRecordIsCountedAndSkippedAndTheStreamGoesOn() {
        String bucket = S3TestResource.bucket();
        String key = "datasets/after-garbage-" + UUID.randomUUID().toString().substring(0, 8) + "/1_a/x.png";
        double invalidBefore = count("invalid");
        double removedBefore = count("removed");

        companion.produceStrings().fromRecords(
                new ProducerRecord<>(Topics.STORAGE_EVENTS, bucket + "/garbage", "{not json"),
                new ProducerRecord<>(Topics.STORAGE_EVENTS, bucket + "/" + key,
                        Json.write(S3EventNotifications.removed(bucket, key, Instant.now())))).awaitCompletion(WAIT);

        awaitConsumed(r -> key.equals(r.key()) && "removed".equals(r.kind()) && "removed: no record".equals(r.outcome()));
        assertTrue(count("invalid") >= invalidBefore + 1, "invalid events are counted");
        assertTrue(count("removed") >= removedBefore + 1, "removed events are counted");
    }

    private double count(String kind) {
        var counter = registry.find("kiln.storage.events.received").tag("kind", kind).counter();
        return counter == null ? 0 : counter.count();
    }

    private void awaitConsumed(Predicate<ReceivedStorageEvent> match) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (recent.all().stream().noneMatch(match)) {
            if (System.nanoTime() > deadline) {
                fail("ingestion did not record the expected storage event; it has: " + recent.all());
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
