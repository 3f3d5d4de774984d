package dev.kiln.ingestion.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.ingestion.image.Fixtures;
import dev.kiln.ingestion.storage.StorageEventConsumer;
import dev.kiln.model.events.CaptionSource;
import dev.kiln.model.events.CloudEventAttributes;
import dev.kiln.model.events.ImageCaptioned;
import dev.kiln.model.events.TagScore;
import dev.kiln.model.json.Json;
import dev.kiln.model.topics.CloudEventSources;
import org.apache.kafka.clients.producer.ProducerRecord;
import dev.kiln.model.keys.ObjectKeys;
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
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

import static dev.kiln.ingestion.pipeline.CommittedEvents.body;
import static dev.kiln.ingestion.pipeline.CommittedEvents.on;
import static dev.kiln.ingestion.pipeline.IngestionOutcomesTest.WAIT;
import static dev.kiln.ingestion.pipeline.IngestionOutcomesTest.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** jobs/<job>/job.toml: parsed, submitted or failed naming the key, then planned once its dataset is ingested. */
@QuarkusTest
@WithTestResource(value = KafkaTestResource.class, parallel = true)
@WithTestResource(value = S3TestResource.class, parallel = true)
class JobPlanningTest {
    private static final String MODEL = "pretrained_model_name_or_path = \"models/sd15.safetensors\"\n";

    @InjectKafkaCompanion
    KafkaCompanion companion;

    @Inject
    S3Storage storage;

    @Inject
    StorageEventConsumer consumer;

    @Test
    void aJobWithAnUnknownKeyFailsNamingTheKeyWithinFiveSeconds() {
        String job = unique("typo");
        try (CommittedEvents events = CommittedEvents.watch(companion, Topics.TRAINING_PROGRESS, Topics.JOBS_SUBMITTED)) {
            long start = System.nanoTime();
            put(ObjectKeys.jobSpec(job), MODEL + "network_dimm = 16\n");
            JsonNode failed = body(events.awaitOne(on(Topics.TRAINING_PROGRESS, byJob(job)), WAIT));
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertTrue(took.compareTo(Duration.ofSeconds(5)) < 0, "failed event after " + took);
            assertEquals("failed", failed.path("type").asText());
            assertEquals("ingestion", failed.path("stage").asText());
            String message = failed.path("message").asText();
            assertTrue(message.contains("network_dimm") && message.contains(ObjectKeys.jobSpec(job)), message);
            CommittedEvents.sleep(500);
            assertEquals(List.of(), events.matching(on(Topics.JOBS_SUBMITTED, byJob(job))), "nothing else runs");
        }
    }

    @Test
    void aValidJobIsSubmittedThenPlannedFromTheIndex() throws IOException {
        String job = unique("cats");
        String folder = "datasets/" + job + "-data/10_sks cat/";
        for (int i = 0; i < 4; i++) {
            put(folder + "img" + i + ".png", Fixtures.encode(Fixtures.gradient(64 + 64 * (i % 2), 64 + i), "png"));
        }
        put(folder + "img0.txt", "a photo of sks cat on a sofa");
        put(folder + "img1.caption", "not used: the subset reads .txt");
        put(folder + "broken.png", "not an image");
        String toml = MODEL + """
                max_train_steps = 40
                [general]
                enable_bucket = true
                min_bucket_reso = 64
                max_bucket_reso = 256
                [[datasets]]
                resolution = 64
                batch_size = 2
                  [[datasets.subsets]]
                  image_dir = "%s"
                  class_tokens = "sks cat"
                  num_repeats = 10
                  caption_extension = ".txt"
                """.formatted(folder.substring(0, folder.length() - 1));
        try (CommittedEvents events = CommittedEvents.watch(companion, Topics.TRAINING_PROGRESS, Topics.JOBS_SUBMITTED,
                Topics.JOBS_PLANNED)) {
            put(ObjectKeys.jobSpec(job), toml);
            JsonNode submitted = body(events.awaitOne(on(Topics.JOBS_SUBMITTED, byJob(job)), WAIT));
            assertEquals(ObjectKeys.jobSpec(job), submitted.path("specKey").asText());
            assertEquals("lora", submitted.path("spec").path("method").asText());
            JsonNode planned = body(events.awaitOne(on(Topics.JOBS_PLANNED, byJob(job)), WAIT));
            assertEquals(ObjectKeys.plan(job), planned.path("planKey").asText());
            assertEquals(4, planned.path("imageCount").asInt(), planned.toString());
            assertEquals(40, planned.path("totalSteps").asLong());
            List<String> types = new ArrayList<>();
            for (ConsumerRecord<String, String> r : events.await(on(Topics.TRAINING_PROGRESS, byJob(job)), 2, WAIT)) {
                types.add(body(r).path("type").asText());
            }
            assertEquals(List.of("submitted", "planned"), types);

            JsonNode plan = readJson(ObjectKeys.plan(job));
            JsonNode images = plan.path("datasets").get(0).path("images");
            assertEquals(4, images.size(), plan.toString());
            for (JsonNode image : images) {
                String expected = image.path("path").asText().endsWith("img0.png") ? "a photo of sks cat on a sofa" : "sks cat";
                assertEquals(expected, image.path("caption").asText(), image.toString());
            }
            assertEquals(40, plan.path("total_steps").asLong());
        }
    }

    @Test
    void aJobWaitsForItsDatasetAndIsPlannedWhenItIsIngested() throws IOException {
        String job = unique("later");
        try (CommittedEvents events = CommittedEvents.watch(companion, Topics.JOBS_SUBMITTED, Topics.JOBS_PLANNED)) {
            // no [[datasets]]: every <N>_<class> folder under datasets/<job>/, as sd-scripts' train_data_dir
            put(ObjectKeys.jobSpec(job), MODEL + "resolution = 64\nmin_bucket_reso = 64\nmax_bucket_reso = 256\n");
            events.awaitOne(on(Topics.JOBS_SUBMITTED, byJob(job)), WAIT);
            CommittedEvents.sleep(1500);
            assertEquals(List.of(), events.matching(on(Topics.JOBS_PLANNED, byJob(job))), "no images yet: it waits");

            byte[] image = Fixtures.encode(Fixtures.gradient(96, 64), "png");
            put("datasets/" + job + "/5_dog/a.png", image);
            put("datasets/" + job + "/5_dog/copy of a.png", image);
            put("datasets/" + job + "/reg/1_dog/r.png", Fixtures.encode(Fixtures.gradient(64, 96), "png"));
            JsonNode planned = body(events.awaitOne(on(Topics.JOBS_PLANNED, byJob(job)), WAIT));
            assertEquals(2, planned.path("imageCount").asInt(), "the duplicate is trained once: " + planned);
            JsonNode plan = readJson(ObjectKeys.plan(job));
            assertEquals(1, plan.path("datasets").get(0).path("num_reg_images").asInt(), plan.toString());
        }
    }

    @Test
    void aJobWithCaptioningWaitsForTheTaggerAndPlansItsCaption() throws IOException {
        String job = unique("tagged");
        String key = "datasets/" + job + "/1_fox/fox.png";
        try (CommittedEvents events = CommittedEvents.watch(companion, Topics.IMAGES_ACCEPTED, Topics.JOBS_PLANNED)) {
            put(key, Fixtures.encode(Fixtures.gradient(80, 64), "png"));
            String sha256 = body(events.awaitOne(on(Topics.IMAGES_ACCEPTED, CommittedEvents.subject(key)), WAIT))
                    .path("sha256").asText();
            put(ObjectKeys.jobSpec(job), MODEL + "resolution = 64\nmin_bucket_reso = 64\nmax_bucket_reso = 256\n"
                    + "[captioning]\ncaption_model = \"models/wd-tagger.onnx\"\n");
            CommittedEvents.sleep(1500);
            assertEquals(List.of(), events.matching(on(Topics.JOBS_PLANNED, byJob(job))), "it waits for the tagger");

            // what the captioning service publishes for the image
            ImageCaptioned captioned = new ImageCaptioned(key, job, sha256, "fox, orange fur, snow",
                    List.of(new TagScore("fox", 0.97)), CaptionSource.TAGGER, null);
            ProducerRecord<String, String> record = new ProducerRecord<>(Topics.IMAGES_CAPTIONED, job, Json.write(captioned));
            CloudEventAttributes.forBody(captioned, CloudEventSources.CAPTIONING, key).binaryHeaderBytes()
                    .forEach((name, value) -> record.headers().add(name, value));
            companion.produceStrings().fromRecords(record).awaitCompletion(WAIT);

            events.awaitOne(on(Topics.JOBS_PLANNED, byJob(job)), WAIT);
            assertEquals(CaptionSource.TAGGER, consumer.pipeline().index().get(key).captionSource());
            JsonNode image = readJson(ObjectKeys.plan(job)).path("datasets").get(0).path("images").get(0);
            assertEquals("fox, orange fur, snow", image.path("caption").asText(), image.toString());
        }
    }

    private static Predicate<ConsumerRecord<String, String>> byJob(String job) {
        return r -> job.equals(r.key());
    }

    private void put(String key, String text) {
        put(key, text.getBytes(StandardCharsets.UTF_8));
    }

    private void put(String key, byte[] bytes) {
        storage.put(key, new ByteArrayInputStream(bytes), bytes.length, null);
    }

    private JsonNode readJson(String key) throws IOException {
        try (InputStream in = storage.get(key)) {
            return Json.read(in.readAllBytes(), JsonNode.class);
        }
    }
}
