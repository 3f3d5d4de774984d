package dev.kiln.captioning;

import static dev.kiln.captioning.CaptioningFixture.BLUE;
import static dev.kiln.captioning.CaptioningFixture.GREEN;
import static dev.kiln.captioning.CaptioningFixture.RED;
import static dev.kiln.captioning.CaptioningFixture.WAIT;
import static dev.kiln.captioning.CaptioningFixture.valid;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.model.topics.Topics;
import dev.kiln.service.test.KafkaTestResource;
import dev.kiln.service.test.S3TestResource;
import dev.kiln.service.test.TopicWatcher;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kafka.InjectKafkaCompanion;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import org.junit.jupiter.api.Test;

/**
 * The service-level default tagger ({@code kiln.captioning.tagger.model}), which tags images as they are accepted:
 * broken, the images keep their class tokens and the service goes on; replaced by a working model (a new ETag), the
 * next images are tagged in batches, with the options from {@code kiln.captioning.tagger.options}.
 */
@QuarkusTest
@WithTestResource(value = KafkaTestResource.class, parallel = true)
@WithTestResource(value = S3TestResource.class, parallel = true)
class DefaultTaggerTest {
    /** Where the test configuration ({@code %test.kiln.captioning.tagger.*}) puts the default tagger. */
    static final String FOLDER = "models/default/";
    static final byte[] BROKEN = {8, 1, 18, 3, 'b', 'a', 'd'};

    @InjectKafkaCompanion
    KafkaCompanion companion;

    private static JsonNode captioned(TopicWatcher watcher, String key) {
        return valid(Topics.IMAGES_CAPTIONED, watcher.await(r -> key.equals(TopicWatcher.header(r, "ce_subject")), WAIT));
    }

    @Test
    void aBrokenDefaultTaggerLeavesClassTokensThenAWorkingOneTags() {
        CaptioningFixture fixture = new CaptioningFixture(companion);
        String name = CaptioningFixture.uniqueName("default");
        String folder = "datasets/" + name + "/4_sks dog/";
        fixture.put(FOLDER + "tagger.onnx", BROKEN);
        fixture.put(FOLDER + "selected_tags.csv", "tag_id,name,category,count\n1,dog,0,5\n");

        try (TopicWatcher watcher = TopicWatcher.watch(companion, Topics.IMAGES_CAPTIONED)) {
            byte[] first = fixture.putImage(folder + "first.png", RED);
            fixture.accepted(folder + "first.png", first, null);
            JsonNode kept = captioned(watcher, folder + "first.png");
            assertEquals("class-tokens", kept.path("source").asText());
            assertEquals("sks dog", kept.path("caption").asText());
            assertNull(fixture.text(folder + "first.txt"));

            fixture.putColourTagger(FOLDER); // replaces the broken model and its tags
            byte[] red = fixture.putImage(folder + "red.png", RED);
            byte[] green = fixture.putImage(folder + "green.png", GREEN);
            byte[] blue = fixture.putImage(folder + "blue.png", BLUE);
            byte[] reg = fixture.putImage("datasets/" + name + "/reg/1_dog/reg.png", BLUE);
            byte[] late = fixture.putImage(folder + "late.png", GREEN);
            fixture.accepted(folder + "red.png", red, null);
            fixture.accepted(folder + "green.png", green, null);
            fixture.accepted(folder + "blue.png", blue, null);
            fixture.accepted("datasets/" + name + "/reg/1_dog/reg.png", reg, null);
            // its caption arrived after the image was accepted: the caption wins over the tagger
            fixture.put(folder + "late.txt", "uploaded late");
            fixture.accepted(folder + "late.png", late, null);

            assertEquals("red", captioned(watcher, folder + "red.png").path("caption").asText());
            JsonNode greenCaption = captioned(watcher, folder + "green.png");
            assertEquals("tagger", greenCaption.path("source").asText());
            assertEquals("green, hatsune miku", greenCaption.path("caption").asText());
            assertEquals("blue, ganyu (genshin impact)", captioned(watcher, folder + "blue.png").path("caption").asText());
            assertEquals("green, hatsune miku\n", fixture.text(folder + "green.txt"));
            JsonNode regCaption = captioned(watcher, "datasets/" + name + "/reg/1_dog/reg.png");
            assertEquals("class-tokens", regCaption.path("source").asText());
            JsonNode lateCaption = captioned(watcher, folder + "late.png");
            assertEquals("sidecar", lateCaption.path("source").asText());
            assertEquals("uploaded late", lateCaption.path("caption").asText());
            assertEquals(folder + "late.txt", lateCaption.path("captionKey").asText());
            assertEquals("uploaded late", fixture.text(folder + "late.txt"));
        } finally {
            // the other tests expect images without a caption to keep their class tokens
            fixture.put(FOLDER + "tagger.onnx", BROKEN);
        }
    }
}
