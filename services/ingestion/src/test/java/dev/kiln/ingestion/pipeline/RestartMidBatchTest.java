package dev.kiln.ingestion.pipeline;

import dev.kiln.ingestion.image.Fixtures;
import dev.kiln.ingestion.index.DatasetIndex;
import dev.kiln.ingestion.index.ObjectRecord;
import dev.kiln.ingestion.storage.StorageEventConsumer;
import dev.kiln.model.topics.Topics;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.test.KafkaTestResource;
import dev.kiln.service.test.S3TestResource;
import dev.kiln.service.test.TopicWatcher;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kafka.InjectKafkaCompanion;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static dev.kiln.ingestion.pipeline.CommittedEvents.subjectStartsWith;
import static dev.kiln.ingestion.pipeline.IngestionOutcomesTest.WAIT;
import static dev.kiln.ingestion.pipeline.IngestionOutcomesTest.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pipeline dies in the middle of a batch, at the worst moment (index saved, outcome events sent, transaction not
 * committed), and a fresh one (index and job state read back from the bucket) starts against the same broker and
 * bucket: every object still ends in exactly one committed outcome.
 */
@QuarkusTest
@WithTestResource(value = KafkaTestResource.class, parallel = true)
@WithTestResource(value = S3TestResource.class, parallel = true)
class RestartMidBatchTest {
    private static final int IMAGES = 24;

    @InjectKafkaCompanion
    KafkaCompanion companion;

    @Inject
    S3Storage storage;

    @Inject
    StorageEventConsumer consumer;

    @Test
    void aRestartMidBatchLosesNothingAndDuplicatesNothing() {
        String dataset = unique("restart");
        String folder = "datasets/" + dataset + "/4_owl/";
        try (CommittedEvents committed = CommittedEvents.watch(companion, Topics.IMAGES_ACCEPTED, Topics.IMAGES_REJECTED);
             CommittedEvents uncommitted = CommittedEvents.watch(companion, IsolationLevel.READ_UNCOMMITTED,
                     Topics.IMAGES_ACCEPTED, Topics.IMAGES_REJECTED);
             TopicWatcher storageEvents = TopicWatcher.watch(companion, Topics.STORAGE_EVENTS)) {
            consumer.stop(); // the batch piles up while nothing consumes
            assertFalse(consumer.isRunning());
            for (int i = 0; i < IMAGES; i++) {
                byte[] bytes = i == 7 ? "truncated".getBytes(StandardCharsets.US_ASCII)
                        : Fixtures.encode(Fixtures.gradient(30 + i, 20), "png");
                put(folder + "owl-" + i + ".png", bytes);
            }
            put(folder + "owl-3.txt", "an owl at night".getBytes(StandardCharsets.UTF_8));
            storageEvents.awaitCount(r -> {
                String subject = TopicWatcher.header(r, "ce_subject");
                return subject != null && subject.startsWith(folder);
            }, IMAGES + 1, WAIT);

            consumer.start();
            consumer.crashAfterNextIndexSave();
            assertTrue(consumer.awaitEnd(), "the pipeline died after its first batch");
            assertTrue(storage.exists(DatasetIndex.indexKey(dataset)), "the crashed batch saved its index");
            List<ConsumerRecord<String, String>> sent = uncommitted.await(subjectStartsWith(folder), 1, WAIT);
            assertFalse(sent.isEmpty(), "the crashed batch sent outcome events before dying");
            assertEquals(List.of(), committed.matching(subjectStartsWith(folder)), "none of them committed");

            consumer.start(); // a new instance: the index comes back from the bucket, the batch from Kafka
            List<ConsumerRecord<String, String>> outcomes = committed.await(subjectStartsWith(folder), IMAGES, WAIT);
            CommittedEvents.sleep(1500); // a duplicate would arrive with the same batch
            outcomes = committed.matching(subjectStartsWith(folder));
            Set<String> keys = new HashSet<>();
            for (ConsumerRecord<String, String> record : outcomes) {
                assertTrue(keys.add(TopicWatcher.header(record, "ce_subject")), "one outcome per image: " + outcomes);
            }
            assertEquals(IMAGES, keys.size());
            assertEquals(1, committed.matching(r -> r.topic().equals(Topics.IMAGES_REJECTED)
                    && (folder + "owl-7.png").equals(TopicWatcher.header(r, "ce_subject"))).size());
            // the restarted index has the caption, whichever batch attached it
            ObjectRecord caption = consumer.pipeline().index().get(folder + "owl-3.txt");
            assertEquals(ObjectRecord.Status.CAPTION, caption.status());
            assertEquals("an owl at night", caption.captionText());
            assertEquals(IMAGES - 1, consumer.pipeline().index().find(dataset, ObjectRecord::isAccepted).size());
        } finally {
            consumer.start();
        }
    }

    private void put(String key, byte[] bytes) {
        storage.put(key, new ByteArrayInputStream(bytes), bytes.length, null);
    }
}
