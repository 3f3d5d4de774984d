package dev.kiln.captioning;

import static dev.kiln.captioning.CaptioningFixture.BLUE;
import static dev.kiln.captioning.CaptioningFixture.GREEN;
import static dev.kiln.captioning.CaptioningFixture.RED;
import static dev.kiln.captioning.CaptioningFixture.WAIT;
import static dev.kiln.captioning.CaptioningFixture.valid;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.captioning.tagger.ColourTagger;
import dev.kiln.model.topics.Topics;
import dev.kiln.service.test.KafkaTestResource;
import dev.kiln.service.test.S3TestResource;
import dev.kiln.service.test.TopicWatcher;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kafka.InjectKafkaCompanion;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The captioning service end to end with no service-default tagger: accepted images get sidecar or class-token
 * captions, a job whose job.toml has a {@code [captioning]} table gets its uncaptioned images tagged by a real ONNX
 * model through ONNX Runtime, and a broken model fails the job. Real Kafka and S3.
 */
@QuarkusTest
@WithTestResource(value = KafkaTestResource.class, parallel = true)
@WithTestResource(value = S3TestResource.class, parallel = true)
class CaptioningPipelineTest {

    @InjectKafkaCompanion
    KafkaCompanion companion;

    CaptioningFixture fixture;

    @BeforeEach
    void fixture() {
        fixture = new CaptioningFixture(companion);
    }

    private static String job(String captioning) {
        return "pretrained_model_name_or_path = \"models/sd15.safetensors\"\nresolution = \"512\"\n"
                + "caption_extension = \".txt\"\n"
                + "[captioning]\n" + captioning;
    }

    /** The first captioned event for {@code key} with {@code source}, checked against the contract. */
    private static JsonNode captioned(TopicWatcher watcher, String key, String source) {
        ConsumerRecord<String, String> record = watcher.await(r -> key.equals(TopicWatcher.header(r, "ce_subject"))
                && r.value().contains("\"source\":\"" + source + "\""), WAIT);
        JsonNode body = valid(Topics.IMAGES_CAPTIONED, record);
        assertEquals(body.path("dataset").asText(), record.key(), "Kafka key = dataset");
        return body;
    }

    private static List<String> sources(TopicWatcher watcher, String key) {
        List<String> sources = new ArrayList<>();
        for (ConsumerRecord<String, String> r : watcher.matching(r -> key.equals(TopicWatcher.header(r, "ce_subject")))) {
            sources.add(valid(Topics.IMAGES_CAPTIONED, r).path("source").asText());
        }
        return sources;
    }

    @Test
    void mixedDatasetEndsWithEveryImageCaptionedFromTheRightSource() {
        String name = CaptioningFixture.uniqueName("mix");
        String model = fixture.putColourTagger("models/" + name + "/");
        String folder = "datasets/" + name + "/5_sks cat/";
        String red = folder + "red.png";
        String green = folder + "green.png";
        String blue = folder + "blue.png";
        String other = folder + "other.png";
        String reg = "datasets/" + name + "/reg/1_cat/plain.png";
        byte[] redBytes = fixture.putImage(red, RED);
        fixture.put(folder + "red.txt", "a red cat, drawn by me\n");
        String userETag = fixture.eTag(folder + "red.txt");
        byte[] greenBytes = fixture.putImage(green, GREEN);
        byte[] blueBytes = fixture.putImage(blue, BLUE);
        byte[] otherBytes = fixture.putImage(other, GREEN);
        fixture.put(folder + "other.caption", "\uFEFFmy other caption");
        byte[] regBytes = fixture.putImage(reg, BLUE);

        try (TopicWatcher watcher = TopicWatcher.watch(companion, Topics.IMAGES_CAPTIONED)) {
            // ingestion announces the images: the ones with a sidecar carry its caption
            fixture.accepted(red, redBytes, "a red cat, drawn by me");
            fixture.accepted(green, greenBytes, null);
            fixture.accepted(blue, blueBytes, null);
            fixture.accepted(other, otherBytes, "my other caption");
            fixture.accepted(reg, regBytes, null);

            JsonNode redCaption = captioned(watcher, red, "sidecar");
            assertEquals("a red cat, drawn by me", redCaption.path("caption").asText());
            assertEquals(folder + "red.txt", redCaption.path("captionKey").asText());
            assertEquals(CaptioningFixture.sha256(redBytes), redCaption.path("sha256").asText());
            assertEquals(folder + "other.caption", captioned(watcher, other, "sidecar").path("captionKey").asText());
            assertEquals("sks cat", captioned(watcher, green, "class-tokens").path("caption").asText());
            assertEquals("sks cat", captioned(watcher, blue, "class-tokens").path("caption").asText());
            JsonNode regCaption = captioned(watcher, reg, "class-tokens");
            assertEquals("cat", regCaption.path("caption").asText());
            assertTrue(regCaption.path("captionKey").isNull());

            // the job asks for tagging: a legacy job (no [[datasets]]) over datasets/<job>/, batches of 2
            fixture.submit(name, job("caption_model = \"" + model + "\"\nbatch_size = 2\n"));

            JsonNode greenTags = captioned(watcher, green, "tagger");
            assertEquals("green, hatsune_miku", greenTags.path("caption").asText());
            assertEquals(CaptioningFixture.sha256(greenBytes), greenTags.path("sha256").asText());
            assertEquals("green", greenTags.path("tags").get(0).path("tag").asText());
            assertEquals(ColourTagger.tag("green").score(0, 255, 0), greenTags.path("tags").get(0).path("score").asDouble(),
                    1e-5);
            assertEquals("hatsune_miku", greenTags.path("tags").get(1).path("tag").asText());
            assertEquals("blue, ganyu_(genshin_impact)", captioned(watcher, blue, "tagger").path("caption").asText());

            // the generated captions are sidecars now, with the job's caption_extension, as sd-scripts writes them
            assertEquals("green, hatsune_miku\n", fixture.text(folder + "green.txt"));
            assertEquals("blue, ganyu_(genshin_impact)\n", fixture.text(folder + "blue.txt"));
            // the user's captions are untouched, and regularization images are not tagged
            assertEquals("a red cat, drawn by me\n", fixture.text(folder + "red.txt"));
            assertEquals(userETag, fixture.eTag(folder + "red.txt"));
            assertNull(fixture.text(folder + "other.txt"));
            assertEquals("\uFEFFmy other caption", fixture.text(folder + "other.caption"));
            assertNull(fixture.text("datasets/" + name + "/reg/1_cat/plain.txt"));

            // submitted again, the job finds only the image added since: nothing is tagged or written twice
            String late = folder + "late.png";
            fixture.putImage(late, RED);
            fixture.submit(name, job("caption_model = \"" + model + "\"\n"));
            assertEquals("red, mid_tone", captioned(watcher, late, "tagger").path("caption").asText());
            // announced again without a caption, an image now gets the sidecar the tagger wrote
            fixture.accepted(green, greenBytes, null);
            assertEquals("green, hatsune_miku", captioned(watcher, green, "sidecar").path("caption").asText());
            assertEquals(List.of("class-tokens", "tagger", "sidecar"), sources(watcher, green));
            assertEquals(List.of("sidecar"), sources(watcher, red));
            assertEquals(List.of("sidecar"), sources(watcher, other));
            assertEquals(List.of("class-tokens"), sources(watcher, reg));
            assertEquals(List.of("class-tokens", "tagger"), sources(watcher, blue));
        }
    }

    @Test
    void explicitDatasetsWriteTheSubsetCaptionExtension() {
        String name = CaptioningFixture.uniqueName("explicit");
        String model = fixture.putColourTagger("models/" + name + "/");
        String folder = "datasets/" + name + "/2_sks/";
        String image = folder + "img_0001.png";
        fixture.putImage(image, RED);
        try (TopicWatcher watcher = TopicWatcher.watch(companion, Topics.IMAGES_CAPTIONED)) {
            fixture.submit(name, """
                    pretrained_model_name_or_path = "models/sd15.safetensors"
                    [[datasets]]
                    resolution = 512
                      [[datasets.subsets]]
                      image_dir = "%s"
                      class_tokens = "sks"
                    [captioning]
                    caption_model = "%s"
                    remove_underscore = true
                    use_rating_tags = true
                    """.formatted("datasets/" + name + "/2_sks", model));
            assertEquals("sensitive, red, mid tone", captioned(watcher, image, "tagger").path("caption").asText());
            // sd-scripts' default caption_extension, so the plan reads it
            assertEquals("sensitive, red, mid tone\n", fixture.text(folder + "img_0001.caption"));
            assertNull(fixture.text(folder + "img_0001.txt"));
        }
    }

    @Test
    void aBrokenOrMissingModelFailsTheJobAndTheImagesKeepTheirClassTokens() {
        String name = CaptioningFixture.uniqueName("broken");
        String folder = "datasets/" + name + "/3_dog/";
        byte[] bytes = fixture.putImage(folder + "a.png", GREEN);
        String modelKey = "models/" + name + "/broken.onnx";
        fixture.put(modelKey, "this is not an ONNX model");
        fixture.put("models/" + name + "/selected_tags.csv", "tag_id,name,category,count\n1,dog,0,5\n");

        try (TopicWatcher captioned = TopicWatcher.watch(companion, Topics.IMAGES_CAPTIONED);
                TopicWatcher progress = TopicWatcher.watch(companion, Topics.TRAINING_PROGRESS)) {
            fixture.accepted(folder + "a.png", bytes, null);
            assertEquals("dog", captioned(captioned, folder + "a.png", "class-tokens").path("caption").asText());

            fixture.submit(name, job("caption_model = \"" + modelKey + "\"\n"));
            JsonNode failed = valid(Topics.TRAINING_PROGRESS, progress.await(r -> name.equals(r.key()), WAIT));
            assertEquals("failed", failed.path("type").asText());
            assertEquals(name, failed.path("jobId").asText());
            String message = failed.path("message").asText();
            assertTrue(message.contains("tagger model " + modelKey + " is not a valid ONNX model"), message);
            assertTrue(message.contains("keep their class tokens"), message);

            String missing = "models/" + name + "/missing.onnx";
            String other = name + "-missing";
            fixture.submit(other, job("caption_model = \"" + missing + "\"\n").replace("[captioning]",
                    "train_data_dir = \"datasets/" + name + "\"\n[captioning]"));
            message = valid(Topics.TRAINING_PROGRESS, progress.await(r -> other.equals(r.key()), WAIT))
                    .path("message").asText();
            assertTrue(message.contains("tagger model " + missing + " not found"), message);

            assertNull(fixture.text(folder + "a.txt"), "nothing is written when the model cannot be used");
            assertEquals(List.of("class-tokens"), sources(captioned, folder + "a.png"));
        }
    }
}
