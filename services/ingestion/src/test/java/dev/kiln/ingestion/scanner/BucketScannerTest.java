package dev.kiln.ingestion.scanner;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.ingestion.storage.ReceivedStorageEvent;
import dev.kiln.ingestion.storage.RecentStorageEvents;
import dev.kiln.model.events.EventSchemas;
import dev.kiln.model.json.Json;
import dev.kiln.model.notify.S3EventNotification;
import dev.kiln.model.topics.Topics;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.test.KafkaTestResource;
import dev.kiln.service.test.S3TestResource;
import dev.kiln.service.test.TopicWatcher;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kafka.InjectKafkaCompanion;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Objects put through S3 -> bucket scanner -> MinIO-format events on kiln.storage.events -> ingestion. */
@QuarkusTest
@WithTestResource(value = KafkaTestResource.class, parallel = true)
@WithTestResource(value = S3TestResource.class, parallel = true)
class BucketScannerTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @InjectKafkaCompanion
    KafkaCompanion companion;

    @Inject
    RecentStorageEvents recent;

    @Inject
    S3Storage storage;

    @Test
    void createdOverwrittenAndDeletedObjectsReachIngestionAsMinioEvents() throws Exception {
        String bucket = S3TestResource.bucket();
        String dataset = "scan-" + UUID.randomUUID().toString().substring(0, 8);
        String key = "datasets/" + dataset + "/10_sks cat/fête d'été 1.png";
        // Go's url.QueryEscape, as MinIO applies it: '/' -> %2F, ' ' -> '+', UTF-8 bytes percent-encoded
        String encodedKey = "datasets%2F" + dataset + "%2F10_sks+cat%2Ff%C3%AAte+d%27%C3%A9t%C3%A9+1.png";
        byte[] first = "first version".getBytes(StandardCharsets.UTF_8);
        byte[] second = "second, longer version".getBytes(StandardCharsets.UTF_8);
        MinioClient s3 = S3TestResource.server().client();
        Predicate<ConsumerRecord<String, String>> ofKey = r -> (bucket + "/" + key).equals(r.key());

        try (TopicWatcher events = TopicWatcher.watch(companion, Topics.STORAGE_EVENTS)) {
            put(s3, bucket, key, first);
            ConsumerRecord<String, String> created = events.await(ofKey.and(r -> r.value().contains(md5(first))), WAIT);
            JsonNode body = assertValidStorageEvent(created, key);
            assertEquals("s3:ObjectCreated:Put", body.path("EventName").asText());
            JsonNode object = body.path("Records").path(0).path("s3").path("object");
            assertEquals(encodedKey, object.path("key").asText());
            assertEquals(first.length, object.path("size").asLong());
            assertEquals(md5(first), object.path("eTag").asText());
            assertEquals(bucket, body.path("Records").path(0).path("s3").path("bucket").path("name").asText());
            awaitConsumed(r -> key.equals(r.key()) && md5(first).equals(r.eTag()) && "created".equals(r.kind()));

            put(s3, bucket, key, second);
            ConsumerRecord<String, String> overwritten = events.await(ofKey.and(r -> r.value().contains(md5(second))), WAIT);
            assertEquals("s3:ObjectCreated:Put", assertValidStorageEvent(overwritten, key).path("EventName").asText());
            awaitConsumed(r -> key.equals(r.key()) && md5(second).equals(r.eTag()));

            s3.removeObject(RemoveObjectArgs.builder().bucket(bucket).object(key).build());
            ConsumerRecord<String, String> removed = events.await(ofKey.and(r -> r.value().contains("ObjectRemoved")), WAIT);
            JsonNode removal = assertValidStorageEvent(removed, key);
            assertEquals("s3:ObjectRemoved:Delete", removal.path("EventName").asText());
            assertEquals(encodedKey, removal.path("Records").path(0).path("s3").path("object").path("key").asText());
            awaitConsumed(r -> key.equals(r.key()) && "removed".equals(r.kind()));

            // one event per change: the scans in between announced nothing again
            assertEquals(3, events.matching(ofKey).size(), "events for the key: " + events.matching(ofKey));
        }
    }

    @Test
    void aRestartedScannerPublishesOnlyWhatChangedWhileItWasDown() {
        String prefix = "datasets/restart-" + UUID.randomUUID().toString().substring(0, 8) + "/1_a b/";
        String stateKey = "state/scanner/test-" + UUID.randomUUID() + ".json";
        List<S3EventNotification> published = new ArrayList<>();

        putText(prefix + "one.png", "1");
        putText(prefix + "two.png", "2");
        BucketScanner first = new BucketScanner(storage, published::addAll, List.of(prefix), stateKey, Clock.systemUTC());
        assertEquals(Set.of("created " + prefix + "one.png", "created " + prefix + "two.png"), describe(first.scanOnce()));
        assertEquals(Set.of(), describe(first.scanOnce()), "nothing changed");

        // while no scanner runs: one new object, one overwritten, one deleted
        putText(prefix + "three.png", "3");
        putText(prefix + "two.png", "2, edited");
        storage.delete(prefix + "one.png");

        BucketScanner restarted = new BucketScanner(storage, published::addAll, List.of(prefix), stateKey,
                Clock.systemUTC());
        assertEquals(Set.of("created " + prefix + "three.png", "created " + prefix + "two.png",
                "removed " + prefix + "one.png"), describe(restarted.scanOnce()));
        assertEquals(Set.of(), describe(restarted.scanOnce()));
        assertEquals(5, published.size());
    }

    @Test
    void eventsThatCouldNotBePublishedAreRetriedByTheNextScan() {
        String prefix = "jobs/retry-" + UUID.randomUUID().toString().substring(0, 8) + "/";
        String stateKey = "state/scanner/test-" + UUID.randomUUID() + ".json";
        putText(prefix + "job.toml", "method = \"lora\"");
        List<S3EventNotification> published = new ArrayList<>();
        boolean[] kafkaDown = {true};
        StorageEventPublisher flaky = events -> {
            if (kafkaDown[0]) {
                throw new IllegalStateException("broker unavailable");
            }
            published.addAll(events);
        };

        BucketScanner scanner = new BucketScanner(storage, flaky, List.of(prefix), stateKey, Clock.systemUTC());
        assertThrows(IllegalStateException.class, scanner::scanOnce);
        assertFalse(storage.exists(stateKey), "no state saved for events that were not published");

        kafkaDown[0] = false;
        assertEquals(Set.of("created " + prefix + "job.toml"), describe(scanner.scanOnce()));
        assertEquals(1, published.size());
        assertTrue(storage.exists(stateKey));
    }

    @Test
    void theStateKeyMustNotBeWatched() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BucketScanner(storage,
                events -> { }, List.of("datasets/", "jobs/"), "jobs/state.json", Clock.systemUTC()));
        assertTrue(e.getMessage().contains("kiln.scanner.state-key"), e.getMessage());
    }

    private JsonNode assertValidStorageEvent(ConsumerRecord<String, String> record, String key) {
        JsonNode body = Json.read(record.value(), JsonNode.class);
        var headers = TopicWatcher.headers(record);
        assertEquals(List.of(), EventSchemas.validateRecord(Topics.STORAGE_EVENTS, headers, body));
        assertEquals("kiln.storage.events.v1", headers.get("ce_type"));
        assertEquals("/kiln/scanner", headers.get("ce_source"));
        assertEquals(key, headers.get("ce_subject"));
        assertEquals(S3TestResource.bucket() + "/" + key, body.path("Key").asText());
        return body;
    }

    private void awaitConsumed(Predicate<ReceivedStorageEvent> match) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (recent.all().stream().noneMatch(match)) {
            if (System.nanoTime() > deadline) {
                fail("ingestion did not consume the expected storage event; it has: " + recent.all());
            }
            Thread.sleep(100);
        }
    }

    private void putText(String key, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        storage.put(key, new ByteArrayInputStream(bytes), bytes.length, "text/plain");
    }

    private static void put(MinioClient s3, String bucket, String key, byte[] content) throws Exception {
        s3.putObject(PutObjectArgs.builder().bucket(bucket).object(key)
                .stream(new ByteArrayInputStream(content), content.length, -1).contentType("image/png").build());
    }

    private static Set<String> describe(List<S3EventNotification> events) {
        return events.stream().map(e -> (e.isCreated() ? "created " : e.isRemoved() ? "removed " : "other ")
                + e.objectKey()).collect(Collectors.toSet());
    }

    private static String md5(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(content));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
