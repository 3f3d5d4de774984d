package dev.kiln.model.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.model.json.Json;
import dev.kiln.model.notify.S3EventNotifications;
import dev.kiln.model.topics.CloudEventSources;
import dev.kiln.model.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CloudEventAttributesTest {

    final TrainingControl cancel = new TrainingControl("cat-lora", ControlCommand.CANCEL);

    @Test
    void binaryHeadersCarryEveryRequiredAttribute() {
        CloudEventAttributes ce = CloudEventAttributes.forBody(cancel, CloudEventSources.CLI, "cat-lora");
        Map<String, String> h = ce.binaryHeaders();
        assertEquals("1.0", h.get("ce_specversion"));
        assertEquals("kiln.training.control.v1", h.get("ce_type"));
        assertEquals("/kiln/cli", h.get("ce_source"));
        assertEquals("cat-lora", h.get("ce_subject"));
        assertEquals(ce.id(), h.get("ce_id"));
        assertEquals("application/json", h.get("content-type"));
        assertEquals("application/json", h.get("ce_datacontenttype"));
        assertEquals(ce.time(), Instant.parse(h.get("ce_time")));
        assertEquals(ce, CloudEventAttributes.fromHeaders(h));
        assertEquals(List.of(), EventSchemas.validateRecord(Topics.TRAINING_CONTROL, h, Json.tree(cancel)));

        Map<String, String> decoded = CloudEventAttributes.decodeHeaders(ce.binaryHeaderBytes().entrySet());
        assertEquals(h, decoded);
    }

    @Test
    void idsAreUnique() {
        CloudEventAttributes a = CloudEventAttributes.forBody(cancel, CloudEventSources.CLI, null);
        CloudEventAttributes b = CloudEventAttributes.forBody(cancel, CloudEventSources.CLI, null);
        assertTrue(!a.id().equals(b.id()));
        assertTrue(!a.binaryHeaders().containsKey("ce_subject"));
    }

    @Test
    void brokenHeadersAreReportedEachByName() {
        Map<String, String> h = new LinkedHashMap<>(
                CloudEventAttributes.forBody(cancel, CloudEventSources.CLI, "cat-lora").binaryHeaders());
        h.remove("ce_id");
        h.put("ce_specversion", "0.3");
        h.put("ce_source", "http://example.com");
        h.put("ce_time", "noon");
        h.put("content-type", "text/plain");
        List<String> problems = CloudEventAttributes.problems(h);
        assertEquals(5, problems.size(), problems.toString());
        for (String name : List.of("ce_id", "ce_specversion", "ce_source", "ce_time", "text/plain")) {
            assertTrue(problems.stream().anyMatch(p -> p.contains(name)), name + " in " + problems);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CloudEventAttributes.fromHeaders(h));
        assertTrue(e.getMessage().contains("ce_id"));
    }

    @Test
    void recordOnTheWrongTopicOrWithABadBodyFails() {
        Map<String, String> h = CloudEventAttributes.forBody(cancel, CloudEventSources.CLI, "cat-lora").binaryHeaders();
        List<String> wrongTopic = EventSchemas.validateRecord(Topics.TRAINING_PROGRESS, h, Json.tree(cancel));
        assertTrue(wrongTopic.stream().anyMatch(p -> p.contains("does not belong on topic kiln.training.progress")),
                wrongTopic.toString());
        Map<String, String> unknown = new LinkedHashMap<>(h);
        unknown.put("ce_type", "kiln.training.control.v9");
        assertTrue(EventSchemas.validateRecord(Topics.TRAINING_CONTROL, unknown, Json.tree(cancel)).stream()
                .anyMatch(p -> p.contains("kiln.training.control.v9")));
    }

    @Test
    void storageEventsFromMinioNeedNoHeadersButScannerOnesAreChecked() {
        var n = S3EventNotifications.created("kiln", "datasets/d/1_x/a.png", 10, "e", "image/png",
                Instant.parse("2026-01-14T10:00:00Z"));
        assertEquals(List.of(), EventSchemas.validateRecord(Topics.STORAGE_EVENTS, Map.of(), Json.tree(n)));
        Map<String, String> h = CloudEventAttributes.forBody(n, CloudEventSources.SCANNER, n.key()).binaryHeaders();
        assertEquals("kiln.storage.events.v1", h.get("ce_type"));
        assertEquals(List.of(), EventSchemas.validateRecord(Topics.STORAGE_EVENTS, h, Json.tree(n)));
        assertEquals("kiln/datasets/d/1_x/a.png",
                new String(CloudEventAttributes.forBody(n, CloudEventSources.SCANNER, n.key()).binaryHeaderBytes()
                        .get("ce_subject"), StandardCharsets.UTF_8));
    }
}
