package dev.kiln.ingestion.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.ingestion.image.Fixtures;
import dev.kiln.ingestion.image.UploadCorpus;
import dev.kiln.ingestion.index.DatasetIndex;
import dev.kiln.ingestion.index.ObjectRecord;
import dev.kiln.ingestion.storage.ReceivedStorageEvent;
import dev.kiln.ingestion.storage.RecentStorageEvents;
import dev.kiln.ingestion.storage.StorageEventConsumer;
import dev.kiln.model.events.RejectionReason;
import dev.kiln.model.json.Json;
import dev.kiln.model.notify.S3EventNotification;
import dev.kiln.model.notify.S3EventNotifications;
import dev.kiln.model.topics.Topics;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.test.KafkaTestResource;
import dev.kiln.service.test.S3TestResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kafka.InjectKafkaCompanion;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

import static dev.kiln.ingestion.pipeline.CommittedEvents.body;
import static dev.kiln.ingestion.pipeline.CommittedEvents.on;
import static dev.kiln.ingestion.pipeline.CommittedEvents.subject;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Objects uploaded to the real (embedded) S3 bucket, announced by the bucket scanner or as MinIO notifications on
 * the real Kafka broker, each end in exactly one outcome: accepted, rejected with the expected reason, a caption
 * attached, or ignored with a reason.
 */
@QuarkusTest
@WithTestResource(value = KafkaTestResource.class, parallel = true)
@WithTestResource(value = S3TestResource.class, parallel = true)
class IngestionOutcomesTest {
    static final Duration WAIT = Duration.ofSeconds(60);

    @InjectKafkaCompanion
    KafkaCompanion companion;

    @Inject
    S3Storage storage;

    @Inject
    RecentStorageEvents recent;

    @Inject
    StorageEventConsumer consumer;

    @Test
    void everyAcceptedFormatAndColourModeIsRecorded() {
        String folder = "datasets/" + unique("formats") + "/10_sks cat/";
        // fixture, format, colour mode, bit depth (as ImageValidatorTest and PillowParityTest read them)
        String[][] cases = {
                {"rgb.png", "png", "rgb", "8"}, {"rgba.png", "png", "rgba", "8"}, {"gray.png", "png", "gray", "8"},
                {"gray_alpha.png", "png", "gray-alpha", "8"}, {"palette.png", "png", "palette", "8"},
                {"palette4.png", "png", "palette", "4"}, {"bilevel.png", "png", "gray", "1"},
                {"gray16.png", "png", "gray", "16"}, {"rgb16.png", "png", "rgb", "16"},
                {"rgb.jpg", "jpeg", "rgb", "8"}, {"gray.jpg", "jpeg", "gray", "8"}, {"cmyk.jpg", "jpeg", "cmyk", "8"},
                {"lossless.webp", "webp", "rgba", "8"}, {"lossy.webp", "webp", "rgb", "8"},
                {"rgb.bmp", "bmp", "rgb", "8"}, {"palette.bmp", "bmp", "palette", "8"}};
        try (CommittedEvents events = CommittedEvents.watch(companion, Topics.IMAGES_ACCEPTED, Topics.IMAGES_REJECTED)) {
            for (String[] c : cases) {
                put(folder + c[0].replace('.', '_') + "." + c[0].substring(c[0].indexOf('.') + 1).toUpperCase(),
                        Fixtures.resource(c[0]));
            }
            for (String[] c : cases) {
                String key = folder + c[0].replace('.', '_') + "." + c[0].substring(c[0].indexOf('.') + 1).toUpperCase();
                JsonNode accepted = body(events.awaitOne(on(Topics.IMAGES_ACCEPTED, subject(key)), WAIT));
                assertEquals(c[1], accepted.path("format").asText(), key);
                assertEquals(c[2], accepted.path("colorMode").asText(), key);
                assertEquals(Integer.parseInt(c[3]), accepted.path("bitDepth").asInt(), key);
                assertEquals(10, accepted.path("subset").path("repeats").asInt(), key);
                assertEquals("sks cat", accepted.path("subset").path("classTokens").asText(), key);
                assertEquals(64, accepted.path("sha256").asText().length(), key);
            }
            assertEquals(List.of(), events.matching(on(Topics.IMAGES_REJECTED, CommittedEvents.subjectStartsWith(folder))));
        }
    }

    @Test
    void aCorpusOfBadUploadsIsRejectedWithReasonsWhileGoodImagesKeepFlowing() {
        String dataset = unique("corpus");
        String base = "datasets/" + dataset + "/";
        Map<String, RejectionReason> expected = new LinkedHashMap<>();
        List<String> good = new ArrayList<>();
        List<UploadCorpus.Upload> bad = new ArrayList<>(UploadCorpus.bad());
        String folder = base + "10_sks cat/";
        byte[] png = UploadCorpus.png();
        // kinds the image corpus does not cover: captions, duplicates, image-like extensions, bad repeat counts
        bad.add(new UploadCorpus.Upload("caption not UTF-8", folder + "latin1.txt",
                "caf\u00e9 au lait".getBytes(StandardCharsets.ISO_8859_1), RejectionReason.INVALID_CAPTION));
        bad.add(new UploadCorpus.Upload("empty caption", folder + "blank.caption", "\n\n".getBytes(StandardCharsets.UTF_8),
                RejectionReason.INVALID_CAPTION));
        bad.add(new UploadCorpus.Upload("gif by extension", folder + "anim.gif", png, RejectionReason.UNSUPPORTED_FORMAT));
        bad.add(new UploadCorpus.Upload("zero repeats", base + "0_cat/a.png", png, RejectionReason.BAD_FOLDER_NAME));
        bad.add(new UploadCorpus.Upload("directly in reg/", base + "reg/a.png", png, RejectionReason.NOT_IN_SUBSET_FOLDER));
        bad.add(new UploadCorpus.Upload("hidden folder", base + ".cache/1_x/a.png", png, RejectionReason.HIDDEN_FILE));
        try (CommittedEvents events = CommittedEvents.watch(companion, Topics.IMAGES_ACCEPTED, Topics.IMAGES_REJECTED)) {
            int i = 0;
            for (UploadCorpus.Upload upload : bad) {
                if (upload.expected() == RejectionReason.UNSAFE_KEY) {
                    continue; // S3 servers refuse such keys: sent as a notification below
                }
                String key = upload.key().replace("datasets/cats/", base);
                put(key, upload.bytes());
                expected.put(key, upload.expected());
                String goodKey = folder + "good-" + i++ + ".png";
                put(goodKey, Fixtures.encode(Fixtures.gradient(40 + i, 30), "png"));
                good.add(goodKey);
            }
            String unsafe = base + "10_sks cat/../../../etc/x.png";
            produce(S3EventNotifications.created(storage.bucket(), unsafe, 10, "0123456789abcdef0123456789abcdef",
                    "image/png", Instant.now()));
            expected.put(unsafe, RejectionReason.UNSAFE_KEY);
            put(folder + "notes.md", "not an image".getBytes(StandardCharsets.UTF_8));
            assertTrue(expected.size() >= 15, "at least 15 kinds of bad upload, got " + expected.size());

            for (Map.Entry<String, RejectionReason> e : expected.entrySet()) {
                ConsumerRecord<String, String> record = events.awaitOne(on(Topics.IMAGES_REJECTED, subject(e.getKey())), WAIT);
                JsonNode body = body(record);
                assertEquals(e.getValue().wire(), body.path("reason").asText(), e.getKey() + ": " + body);
                assertTrue(body.path("message").asText().contains(e.getKey().substring(base.length()))
                        || e.getValue() == RejectionReason.UNSAFE_KEY, "the message names the key: " + body);
                if (e.getValue() != RejectionReason.UNSAFE_KEY) {
                    assertEquals(dataset, record.key(), "rejections are keyed by dataset");
                }
            }
            for (String key : good) {
                events.awaitOne(on(Topics.IMAGES_ACCEPTED, subject(key)), WAIT);
            }
            awaitOutcome(folder + "notes.md", o -> o.startsWith("ignored: not an image or caption"));
            CommittedEvents.sleep(1000); // anything extra would have arrived by now
            for (String key : expected.keySet()) {
                assertEquals(1, events.matching(subject(key)).size(), "exactly one outcome for " + key);
            }
            for (String key : good) {
                assertEquals(1, events.matching(subject(key)).size(), "exactly one outcome for " + key);
            }
            assertEquals(List.of(), events.matching(subject(folder + "notes.md")));
        }
    }

    @Test
    void unicodeSpacesAndUrlEncodedKeysAreAcceptedUnderTheirDecodedNames() {
        String base = "datasets/" + unique("names") + "/";
        List<String> keys = List.of(base + "5_ねこ ネコ/写真 01.jpg", base + "10_sks cat/a+b c.png",
                base + "10_sks cat/x%20y%2Bz.png", base + "10_sks cat/emoji 🐱.png");
        try (CommittedEvents events = CommittedEvents.watch(companion, Topics.IMAGES_ACCEPTED)) {
            for (int i = 0; i < keys.size(); i++) {
                put(keys.get(i), Fixtures.encode(Fixtures.gradient(20 + i, 20), keys.get(i).endsWith(".jpg") ? "jpeg" : "png"));
            }
            for (String key : keys) {
                JsonNode accepted = body(events.awaitOne(subject(key), WAIT));
                assertEquals(key, accepted.path("key").asText());
            }
            JsonNode cat = body(events.matching(subject(keys.get(0))).get(0));
            assertEquals("ねこ ネコ", cat.path("subset").path("classTokens").asText());
            assertEquals(5, cat.path("subset").path("repeats").asInt());
        }
    }

    @Test
    void captionsAttachWhicheverArrivesFirst() {
        String folder = "datasets/" + unique("captions") + "/10_sks cat/";
        try (CommittedEvents events = CommittedEvents.watch(companion, Topics.IMAGES_ACCEPTED, Topics.IMAGES_REJECTED)) {
            // caption first (with a byte-order mark), then its image: the image is accepted with the caption
            put(folder + "before.txt", "\ufeffa photo of sks cat, sitting\nsecond line".getBytes(StandardCharsets.UTF_8));
            awaitOutcome(folder + "before.txt", o -> o.startsWith("caption stored"));
            put(folder + "before.png", Fixtures.encode(Fixtures.gradient(30, 20), "png"));
            JsonNode before = body(events.awaitOne(subject(folder + "before.png"), WAIT));
            assertEquals("a photo of sks cat, sitting", before.path("caption").asText());

            // image first, then its caption: attached in the index, no second image outcome
            put(folder + "after.png", Fixtures.encode(Fixtures.gradient(31, 20), "png"));
            JsonNode after = body(events.awaitOne(subject(folder + "after.png"), WAIT));
            assertTrue(after.path("caption").isNull(), after.toString());
            put(folder + "after.caption", "a drawing of sks cat".getBytes(StandardCharsets.UTF_8));
            awaitOutcome(folder + "after.caption", o -> o.equals("caption attached to " + folder + "after.png"));
            ObjectRecord caption = consumer.pipeline().index().get(folder + "after.caption");
            assertEquals("a drawing of sks cat", caption.captionText());

            // a caption that is not UTF-8 is rejected; its image has no caption (class tokens later)
            put(folder + "bad.txt", new byte[] {'c', 'a', 't', (byte) 0xff, (byte) 0xfe});
            events.awaitOne(on(Topics.IMAGES_REJECTED, subject(folder + "bad.txt")), WAIT);
            put(folder + "bad.png", Fixtures.encode(Fixtures.gradient(32, 20), "png"));
            JsonNode bad = body(events.awaitOne(subject(folder + "bad.png"), WAIT));
            assertTrue(bad.path("caption").isNull(), bad.toString());
            assertEquals(1, events.matching(subject(folder + "after.png")).size());

            // a caption belongs to the image of exactly its stem: photo.txt is not photo.v2.png's
            put(folder + "photo.v2.png", Fixtures.encode(Fixtures.gradient(33, 20), "png"));
            events.awaitOne(subject(folder + "photo.v2.png"), WAIT);
            put(folder + "photo.txt", "not the v2 photo".getBytes(StandardCharsets.UTF_8));
            awaitOutcome(folder + "photo.txt", o -> o.equals("caption stored: attached when its image arrives"));
        }
    }

    @Test
    void aRedeliveredEventChangesNothingAnOverwriteRevalidatesADeleteRemoves() {
        String key = "datasets/" + unique("redelivery") + "/3_dog/pic.png";
        try (CommittedEvents events = CommittedEvents.watch(companion, Topics.IMAGES_ACCEPTED, Topics.IMAGES_REJECTED)) {
            put(key, Fixtures.encode(Fixtures.gradient(40, 40), "png"));
            JsonNode first = body(events.awaitOne(subject(key), WAIT));
            String eTag = storage.stat(key).eTag();
            var notification = S3EventNotifications.created(storage.bucket(), key, storage.stat(key).size(), eTag,
                    "image/png", Instant.now());
            produce(notification);
            produce(notification);
            awaitOutcomes(key, o -> o.startsWith("unchanged: this version is already accepted"), 2);
            assertEquals(1, events.matching(subject(key)).size(), "redelivery published nothing");

            put(key, Fixtures.encode(Fixtures.gradient(48, 40), "png"));
            List<ConsumerRecord<String, String>> both = events.await(subject(key), 2, WAIT);
            JsonNode second = body(both.get(1));
            assertNotEquals(first.path("sha256").asText(), second.path("sha256").asText());
            assertEquals(48, second.path("width").asInt());

            storage.delete(key);
            awaitOutcome(key, o -> o.startsWith("removed: record of the accepted object deleted"));
            assertNull(consumer.pipeline().index().get(key));
        }
    }

    @Test
    void theSameBytesTwiceInOneSubsetAreTrainedOnceAndReportedAsDuplicate() {
        String folder = "datasets/" + unique("dupes") + "/2_fox/";
        byte[] image = Fixtures.encode(Fixtures.gradient(50, 30), "png");
        try (CommittedEvents events = CommittedEvents.watch(companion, Topics.IMAGES_ACCEPTED, Topics.IMAGES_REJECTED)) {
            put(folder + "a.png", image);
            events.awaitOne(on(Topics.IMAGES_ACCEPTED, subject(folder + "a.png")), WAIT);
            put(folder + "b.png", image);
            JsonNode duplicate = body(events.awaitOne(on(Topics.IMAGES_REJECTED, subject(folder + "b.png")), WAIT));
            assertEquals("duplicate", duplicate.path("reason").asText());
            assertTrue(duplicate.path("message").asText().contains(folder + "a.png"), duplicate.toString());
            String dataset = DatasetIndex.datasetOf(folder + "a.png");
            assertEquals(1, consumer.pipeline().index().find(dataset, ObjectRecord::isAccepted).size());

            // the same bytes in another subset of the dataset are that subset's own image
            String otherSubset = folder.replace("/2_fox/", "/1_fox2/");
            put(otherSubset + "c.png", image);
            events.awaitOne(on(Topics.IMAGES_ACCEPTED, subject(otherSubset + "c.png")), WAIT);

            // the first one goes: its duplicate is trained instead
            storage.delete(folder + "a.png");
            events.awaitOne(on(Topics.IMAGES_ACCEPTED, subject(folder + "b.png")), WAIT);
        }
    }

    static String unique(String name) {
        return name + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    void put(String key, byte[] bytes) {
        storage.put(key, new ByteArrayInputStream(bytes), bytes.length, null);
    }

    /** As MinIO sends it: the plain JSON body, Kafka key bucket/key, no CloudEvent headers. */
    void produce(S3EventNotification notification) {
        companion.produceStrings().fromRecords(new ProducerRecord<>(Topics.STORAGE_EVENTS, notification.bucketAndKey(),
                Json.write(notification))).awaitCompletion(WAIT);
    }

    void awaitOutcome(String key, Predicate<String> outcome) {
        awaitOutcomes(key, outcome, 1);
    }

    void awaitOutcomes(String key, Predicate<String> outcome, int count) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            List<ReceivedStorageEvent> found = recent.all().stream()
                    .filter(r -> key.equals(r.key()) && outcome.test(r.outcome())).toList();
            if (found.size() >= count) {
                return;
            }
            if (System.nanoTime() > deadline) {
                fail("expected " + count + " matching outcome(s) for " + key + "; ingestion has: "
                        + recent.all().stream().filter(r -> key.equals(r.key())).toList());
            }
            CommittedEvents.sleep(100);
        }
    }
}
