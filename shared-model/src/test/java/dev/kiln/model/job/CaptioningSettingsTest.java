package dev.kiln.model.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.model.dataset.ConfigException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** job.toml's {@code [captioning]} table: sd-scripts' WD14 tagger options, validated with errors naming the key. */
class CaptioningSettingsTest {
    private static final String JOB = "pretrained_model_name_or_path = \"models/sd15.safetensors\"\n";

    private static JobSpec parse(String captioning) {
        return JobSpecParser.parse(JOB + "[captioning]\n" + captioning, "job.toml", "cats");
    }

    private static ConfigException invalid(String captioning) {
        return assertThrows(ConfigException.class, () -> parse(captioning));
    }

    @Test
    void noTableMeansNoTagging() {
        JobSpec job = JobSpecParser.parse(JOB, "job.toml", "cats");
        assertNull(job.captioning());
        assertFalse(job.toJson().containsKey("captioning"));
    }

    @Test
    void defaultsAreSdScripts() {
        CaptioningSettings c = parse("caption_model = \"models/wd/model.onnx\"").captioning();
        assertEquals("models/wd/model.onnx", c.captionModel());
        assertEquals("models/wd/selected_tags.csv", c.tagsCsv(), "the tags CSV sits beside the model by default");
        assertEquals(0.35, c.generalThreshold());
        assertEquals(0.35, c.characterThreshold());
        assertEquals(", ", c.captionSeparator());
        assertFalse(c.removeUnderscore());
        assertFalse(c.useRatingTags());
        assertNull(c.batchSize(), "unset: the service's default batch size applies");
        assertEquals(List.of(), c.undesiredTags());
        assertEquals(CaptioningSettings.defaults("models/wd/model.onnx"), c);
    }

    @Test
    void everyOptionIsRead() {
        CaptioningSettings c = parse("""
                caption_model = "models/wd-tagger.onnx"
                tags_csv = "models/tags/wd.csv"
                thresh = 0.5
                character_threshold = 1
                undesired_tags = "lowres , watermark,"
                always_first_tags = ["1girl", " 1boy "]
                tag_replacement = "a\\\\,b,c;d,e"
                caption_separator = "; "
                remove_underscore = true
                character_tag_expand = true
                character_tags_first = true
                use_rating_tags = true
                use_rating_tags_as_last_tag = true
                batch_size = 8
                """).captioning();
        assertEquals("models/tags/wd.csv", c.tagsCsv());
        assertEquals(0.5, c.thresh());
        assertEquals(0.5, c.generalThreshold(), "general_threshold follows thresh");
        assertEquals(1.0, c.characterThreshold(), "an integer is a float here, as in argparse");
        assertEquals(List.of("lowres , watermark,"), c.undesiredTags(), "split on ';' (the separator), not ','");
        assertEquals(List.of("1girl", "1boy"), c.alwaysFirstTags());
        assertEquals(Map.of("a,b", "c", "d", "e"), c.tagReplacements());
        assertTrue(c.removeUnderscore() && c.characterTagExpand() && c.characterTagsFirst() && c.useRatingTags()
                && c.useRatingTagsAsLastTag());
        assertEquals(8, c.batchSize());
        assertEquals(List.of("lowres", "watermark"),
                parse("caption_model = \"models/m.onnx\"\nundesired_tags = \"lowres , watermark,\"").captioning()
                        .undesiredTags());
        Map<String, Object> json = parse("caption_model = \"models/m.onnx\"\nbatch_size = 4").toJson();
        @SuppressWarnings("unchecked")
        Map<String, Object> spec = (Map<String, Object>) json.get("captioning");
        assertEquals("models/m.onnx", spec.get("caption_model"));
        assertEquals(4, spec.get("batch_size"));
    }

    @Test
    void errorsNameTheKey() {
        assertEquals("[captioning] caption_model: required: the object key of the tagger's .onnx model",
                invalid("thresh = 0.3").getMessage());
        ConfigException unknown = invalid("caption_model = \"models/m.onnx\"\ngeneral_thresh = 0.3");
        assertEquals("general_thresh", unknown.key());
        assertTrue(unknown.getMessage().startsWith("[captioning] general_thresh: unknown key"), unknown.getMessage());
        assertEquals("caption_model", invalid("caption_model = \"models/m.safetensors\"").key());
        assertEquals("caption_model", invalid("caption_model = \"models/../m.onnx\"").key());
        assertEquals("tags_csv", invalid("caption_model = \"models/m.onnx\"\ntags_csv = \"models/tags.json\"").key());
        assertEquals("[captioning] general_threshold: expected float, got string \"high\"",
                invalid("caption_model = \"models/m.onnx\"\ngeneral_threshold = \"high\"").getMessage());
        assertEquals("character_threshold",
                invalid("caption_model = \"models/m.onnx\"\ncharacter_threshold = -0.1").key());
        assertEquals("[captioning] batch_size: must be between 1 and 256, got 0",
                invalid("caption_model = \"models/m.onnx\"\nbatch_size = 0").getMessage());
        assertEquals("batch_size", invalid("caption_model = \"models/m.onnx\"\nbatch_size = true").key());
        assertEquals("batch_size", invalid("caption_model = \"models/m.onnx\"\nbatch_size = 2.5").key());
        assertEquals("remove_underscore", invalid("caption_model = \"models/m.onnx\"\nremove_underscore = 1").key());
        assertEquals("undesired_tags", invalid("caption_model = \"models/m.onnx\"\nundesired_tags = [1, 2]").key());
        assertEquals("undesired_tags", invalid("caption_model = \"models/m.onnx\"\ncaption_separator = \"  \"\n"
                + "undesired_tags = \"a b\"").key());
        assertEquals("caption_separator", invalid("caption_model = \"models/m.onnx\"\ncaption_separator = \"\"").key());
        ConfigException replacement = invalid("caption_model = \"models/m.onnx\"\ntag_replacement = \"a,b;c\"");
        assertEquals("[captioning] tag_replacement: 'c' is not in the form source,target (in 'a,b;c')",
                replacement.getMessage());
        ConfigException notTable = assertThrows(ConfigException.class, () -> JobSpecParser.parse(
                JOB + "captioning = \"models/m.onnx\"\n", "job.toml", "cats"));
        assertEquals("captioning", notTable.key());
    }
}
