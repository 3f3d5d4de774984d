package dev.kiln.captioning.tagging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.model.job.CaptioningSettings;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The service default is read with job.toml's [captioning] rules; a bad setting names the property and key. */
class DefaultTaggingTest {

    @Test
    void unsetModelMeansNoDefaultTagging() {
        assertEquals(Optional.empty(), DefaultTagging.parse(Optional.empty(), Optional.empty()));
        assertEquals(Optional.empty(), DefaultTagging.parse(Optional.of(" "), Optional.of("")));
    }

    @Test
    void optionsUseTheJobTomlNames() {
        CaptioningSettings settings = DefaultTagging.parse(Optional.of("models/wd/model.onnx"),
                Optional.of("general_threshold = 0.5, remove_underscore = true, batch_size = 4")).orElseThrow();
        assertEquals("models/wd/selected_tags.csv", settings.tagsCsv());
        assertEquals(0.5, settings.generalThreshold());
        assertEquals(0.35, settings.characterThreshold());
        assertTrue(settings.removeUnderscore());
        assertEquals(4, settings.batchSize());
    }

    @Test
    void errorsNameThePropertyAndKey() {
        assertEquals("kiln.captioning.tagger.options: [captioning] general_threshold: expected float, got string \"x\"",
                message(Optional.of("models/m.onnx"), Optional.of("general_threshold = \"x\"")));
        assertEquals("kiln.captioning.tagger.model: [captioning] caption_model: expected the object key of a .onnx"
                + " file, got 'models/m.bin'", message(Optional.of("models/m.bin"), Optional.empty()));
        assertTrue(message(Optional.of("models/m.onnx"), Optional.of("thresh = ")).startsWith(
                "kiln.captioning.tagger.options is not the inside of a one-line TOML inline table"));
        assertTrue(message(Optional.empty(), Optional.of("thresh = 0.5")).contains("kiln.captioning.tagger.model"));
    }

    private static String message(Optional<String> model, Optional<String> options) {
        return assertThrows(IllegalStateException.class, () -> DefaultTagging.parse(model, options)).getMessage();
    }
}
