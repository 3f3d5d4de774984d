package dev.kiln.model.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.model.json.Json;
import dev.kiln.model.json.JsonAssert;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.model.keys.SubsetFolder;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class EventsTest {

    static final String SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    static final Instant T = Instant.parse("2026-01-01T12:00:00Z");

    /** One realistic instance of every Kiln event body (storage events are covered by the MinIO samples). */
    static Stream<Object> events() {
        SubsetFolder subset = SubsetFolder.parse("10_sks cat", false).orElseThrow();
        ObjectNode spec = JsonNodeFactory.instance.objectNode().put("method", "lora").put("network_dim", 16);
        spec.putObject("general").put("enable_bucket", true);
        return Stream.of(
                new ImageAccepted("datasets/cats/10_sks cat/a.png", "cats", SHA, 768, 512, ImageFormat.PNG,
                        ColorMode.RGBA, 8, 48213, "5d41402abc4b2a76b9719d911017c592", subset, "a photo of sks cat"),
                new ImageAccepted("datasets/cats/reg/1_cat/r.jpg", "cats", SHA, 512, 512, ImageFormat.JPEG,
                        ColorMode.GRAY, 16, 1000, null, SubsetFolder.parse("1_cat", true).orElseThrow(), null),
                new ImageRejected("datasets/cats/10_sks cat/e.png", "cats", RejectionReason.EMPTY_OBJECT,
                        "datasets/cats/10_sks cat/e.png is empty (0 bytes)", "d41d8cd98f00b204e9800998ecf8427e"),
                new ImageRejected("/etc/passwd", null, RejectionReason.UNSAFE_KEY, "key starts with '/'", null),
                new ImageCaptioned("datasets/cats/10_sks cat/a.png", "cats", SHA, "a photo of sks cat", List.of(),
                        CaptionSource.SIDECAR, "datasets/cats/10_sks cat/a.txt"),
                new ImageCaptioned("datasets/cats/10_sks cat/b.png", "cats", SHA, "cat, orange fur",
                        List.of(new TagScore("cat", 0.98), new TagScore("orange fur", 0.41)), CaptionSource.TAGGER, null),
                new ImageCaptioned("datasets/cats/10_sks cat/c.png", "cats", SHA, "sks cat", null,
                        CaptionSource.CLASS_TOKENS, null),
                new JobSubmitted("cat-lora", ObjectKeys.jobSpec("cat-lora"), spec),
                new JobPlanned("cat-lora", ObjectKeys.plan("cat-lora"), 40, 3, 1000),
                new LatentTask("cat-lora", "models/sd15.safetensors", null, false, SHA,
                        "datasets/cats/10_sks cat/a.png", SHA, List.of(new LatentTask.Target(512, 512, 512, 768, false),
                        new LatentTask.Target(512, 512, 512, 768, true))),
                new LatentsCached("cat-lora", ObjectKeys.plan("cat-lora"), 30, 10),
                new TrainingControl("cat-lora", ControlCommand.SAVE_NOW),
                new SamplesRequested("cat-lora", ObjectKeys.stepModel("cat-lora", "cat", 500),
                        List.of("a photo of sks cat --w 512 --h 512 --s 30 --d 42"), 500, 2),
                new TrainingProgress("cat-lora", ProgressType.STEP, Stage.TRAINING, 120L, 1000L, 2, 10, 0.1234,
                        0.1301, 1e-4, 1.7, 517.6, null, null, T),
                TrainingProgress.of("cat-lora", ProgressType.SUBMITTED, Stage.INGESTION, T),
                TrainingProgress.failed("cat-lora", Stage.INGESTION, "jobs/cat-lora/job.toml: unknown key 'netwrk_dim'", T),
                TrainingProgress.artifact("cat-lora", ProgressType.CHECKPOINT, Stage.TRAINING, 500,
                        "s3://kiln/outputs/cat-lora/cat-step00000500.safetensors", T));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("events")
    void everyEventRoundTripsAndValidates(Object event) {
        String json = Json.write(event);
        assertEquals(event, Json.read(json, event.getClass()));
        assertEquals(List.of(), EventSchemas.validate(event));
        EventType type = EventType.of(event.getClass());
        assertEquals(List.of(), EventSchemas.validate(type.topic(), Json.tree(event)));
        assertEquals(List.of(), EventSchemas.validate(type.ceType(), Json.tree(event)));
    }

    @Test
    void everyEventTypeHasARecordTopicAndLoadableSchema() {
        Set<String> topics = Arrays.stream(EventType.values()).map(EventType::topic).collect(Collectors.toSet());
        assertEquals(Set.copyOf(dev.kiln.model.topics.Topics.ALL), topics);
        for (EventType t : EventType.values()) {
            assertEquals(t, EventType.of(t.bodyClass()));
            assertEquals(t.topic() + ".v1", t.ceType());
            assertNotNull(getClass().getClassLoader().getResource(t.schemaResource()), t.schemaResource());
            // An empty object is never a valid event: the schema loads and has required fields.
            assertFalse(EventSchemas.validate(t, JsonNodeFactory.instance.objectNode()).isEmpty(), t.name());
        }
        assertEquals("schemas/images.accepted.schema.json", EventType.IMAGE_ACCEPTED.schemaResource());
        assertEquals("schemas/storage.events.schema.json", EventType.STORAGE_EVENT.schemaResource());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EventSchemas.validate("kiln.nope", JsonNodeFactory.instance.objectNode()));
        assertTrue(e.getMessage().contains("kiln.nope"));
    }

    @Test
    void progressEventIsExactlyTheContractExample() throws Exception {
        // ARCHITECTURE §3 "Progress event", verbatim.
        String example = """
                {"jobId": "cat-lora", "type": "step", "stage": "training",
                 "step": 120, "totalSteps": 1000, "epoch": 2, "totalEpochs": 10,
                 "loss": 0.1234, "avgLoss": 0.1301, "lr": 0.0001, "itPerSec": 1.7, "etaSeconds": 517.6,
                 "artifact": null, "message": null, "time": "2026-01-01T12:00:00Z"}""";
        JsonNode expected = Json.mapper().readTree(example);
        TrainingProgress p = Json.read(example, TrainingProgress.class);
        assertEquals(ProgressType.STEP, p.type());
        assertEquals(T, p.time());
        JsonNode written = Json.tree(p);
        JsonAssert.assertSameJson(expected, written, "the progress event of the contract");
        List<String> order = new java.util.ArrayList<>();
        written.fieldNames().forEachRemaining(order::add);
        List<String> expectedOrder = new java.util.ArrayList<>();
        expected.fieldNames().forEachRemaining(expectedOrder::add);
        assertEquals(expectedOrder, order);
        assertEquals(List.of(), EventSchemas.validate("kiln.training.progress", expected));
    }

    @Test
    void nullFieldsOfProgressAreWritten() {
        JsonNode json = Json.tree(TrainingProgress.of("j", ProgressType.STARTED, Stage.TRAINING, T));
        assertEquals(15, json.size());
        assertTrue(json.get("loss").isNull());
        assertEquals("2026-01-01T12:00:00Z", json.get("time").asText());
    }

    @Test
    void enumsUseTheContractStrings() {
        assertEquals("\"save-now\"", Json.write(ControlCommand.SAVE_NOW));
        assertEquals("\"sample-now\"", Json.write(ControlCommand.SAMPLE_NOW));
        assertEquals("\"class-tokens\"", Json.write(CaptionSource.CLASS_TOKENS));
        assertEquals("\"completed\"", Json.write(ProgressType.COMPLETED));
        assertEquals("\"empty-object\"", Json.write(RejectionReason.EMPTY_OBJECT));
        assertEquals("\"gray-alpha\"", Json.write(ColorMode.GRAY_ALPHA));
        assertEquals(RejectionReason.NOT_IN_SUBSET_FOLDER, RejectionReason.fromWire("not-in-subset-folder"));
        assertTrue(ProgressType.CANCELLED.isTerminal());
        assertFalse(ProgressType.CHECKPOINT.isTerminal());
        for (var problem : dev.kiln.model.keys.KeyProblem.values()) {
            assertEquals(problem.name(), RejectionReason.of(problem).name());
        }
    }

    @Test
    void schemaEnumsListEveryJavaEnumValue() {
        Map<String, Class<? extends Enum<?>>> fields = Map.of(
                "images.rejected/reason", RejectionReason.class,
                "images.accepted/format", ImageFormat.class,
                "images.accepted/colorMode", ColorMode.class,
                "images.captioned/source", CaptionSource.class,
                "training.control/command", ControlCommand.class,
                "training.progress/type", ProgressType.class,
                "training.progress/stage", Stage.class);
        fields.forEach((where, type) -> {
            String[] parts = where.split("/");
            JsonNode schema = schemaJson(parts[0]);
            Set<String> inSchema = new java.util.HashSet<>();
            schema.at("/properties/" + parts[1] + "/enum").forEach(n -> inSchema.add(n.asText()));
            Set<String> inJava = Arrays.stream(type.getEnumConstants()).map(e -> Json.tree(e).asText())
                    .collect(Collectors.toSet());
            assertEquals(inJava, inSchema, where);
        });
    }

    @Test
    void subsetFolderIsWrittenWithIsReg() {
        JsonNode subset = Json.tree(events().findFirst().orElseThrow()).get("subset");
        assertEquals(Set.of("folder", "repeats", "classTokens", "identifier", "className", "isReg"),
                names(subset));
        assertFalse(subset.get("isReg").asBoolean());
    }

    @Test
    void missingFieldFailsNamingIt() {
        ObjectNode json = (ObjectNode) Json.tree(TrainingProgress.of("j", ProgressType.STARTED, Stage.TRAINING, T));
        json.remove("time");
        List<String> v = EventSchemas.validate("kiln.training.progress", json);
        assertEquals(1, v.size(), v.toString());
        assertTrue(v.get(0).contains("time"), v.toString());
    }

    @Test
    void wrongEnumFailsNamingTheField() {
        ObjectNode json = (ObjectNode) Json.tree(TrainingProgress.of("j", ProgressType.STARTED, Stage.TRAINING, T));
        json.put("type", "finished");
        List<String> v = EventSchemas.validate("kiln.training.progress.v1", json);
        assertEquals(1, v.size(), v.toString());
        assertTrue(v.get(0).contains("$.type"), v.toString());

        ObjectNode rejected = (ObjectNode) Json.tree(events().filter(ImageRejected.class::isInstance).findFirst().orElseThrow());
        rejected.put("reason", "EMPTY_OBJECT");
        v = EventSchemas.validate("kiln.images.rejected", rejected);
        assertTrue(v.size() == 1 && v.get(0).contains("$.reason"), v.toString());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Json.read("{\"jobId\":\"j\",\"command\":\"stop\"}", TrainingControl.class));
        assertTrue(e.getMessage().contains("stop") && e.getMessage().contains("save-now"), e.getMessage());
    }

    @Test
    void extraPropertiesBadValuesAndConditionalFieldsFail() {
        ObjectNode planned = (ObjectNode) Json.tree(new JobPlanned("j", "outputs/j/plan.json", 1, 1, 10));
        planned.put("surprise", 1);
        planned.put("totalSteps", -5);
        planned.put("planKey", "outputs/j/../plan.json");
        List<String> v = EventSchemas.validate("kiln.jobs.planned", planned);
        assertTrue(v.stream().anyMatch(m -> m.contains("surprise")), v.toString());
        assertTrue(v.stream().anyMatch(m -> m.contains("$.totalSteps")), v.toString());
        assertTrue(v.stream().anyMatch(m -> m.contains("$.planKey")), v.toString());

        ObjectNode checkpoint = (ObjectNode) Json.tree(TrainingProgress.of("j", ProgressType.STARTED, Stage.TRAINING, T));
        checkpoint.put("type", "checkpoint");
        v = EventSchemas.validate("kiln.training.progress", checkpoint);
        assertTrue(v.stream().anyMatch(m -> m.contains("$.artifact")), v.toString());
        checkpoint.put("type", "failed");
        v = EventSchemas.validate("kiln.training.progress", checkpoint);
        assertTrue(v.stream().anyMatch(m -> m.contains("$.message")), v.toString());
        checkpoint.put("message", "boom");
        checkpoint.put("time", "yesterday");
        v = EventSchemas.validate("kiln.training.progress", checkpoint);
        assertTrue(v.size() == 1 && v.get(0).contains("$.time"), v.toString());

        ObjectNode sidecar = (ObjectNode) Json.tree(events().filter(ImageCaptioned.class::isInstance).findFirst().orElseThrow());
        sidecar.putNull("captionKey");
        v = EventSchemas.validate("kiln.images.captioned", sidecar);
        assertTrue(v.stream().anyMatch(m -> m.contains("$.captionKey")), v.toString());
    }

    @Test
    void recordsRejectMissingRequiredFieldsNamingThem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new TrainingProgress("j", ProgressType.COMPLETED, Stage.TRAINING, null, null, null, null, null,
                        null, null, null, null, null, null, T));
        assertTrue(e.getMessage().contains("artifact"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new TrainingControl(null, ControlCommand.CANCEL));
        assertTrue(e.getMessage().contains("jobId"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Json.read("{\"jobId\":\"j\",\"planKey\":\"outputs/j/plan.json\",\"hits\":-1,\"misses\":0}",
                        LatentsCached.class));
        assertTrue(e.getMessage().contains("hits"), e.getMessage());
    }

    @Test
    void unknownPropertiesAreIgnoredWhenReading() {
        TrainingControl c = Json.read("{\"jobId\":\"j\",\"command\":\"cancel\",\"by\":\"alice\"}", TrainingControl.class);
        assertEquals(new TrainingControl("j", ControlCommand.CANCEL), c);
    }

    static JsonNode schemaJson(String name) {
        try (var in = EventsTest.class.getClassLoader().getResourceAsStream("schemas/" + name + ".schema.json")) {
            return Json.mapper().readTree(in);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static Set<String> names(JsonNode node) {
        Set<String> out = new java.util.HashSet<>();
        node.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
