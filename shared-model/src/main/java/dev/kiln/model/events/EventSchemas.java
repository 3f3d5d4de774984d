package dev.kiln.model.events;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.PathType;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.kiln.model.json.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Validates event bodies against their JSON Schemas (draft 2020-12, {@code format} asserted), and whole
 * Kafka records against the contract (CloudEvent binary-mode headers, matching type and topic, body).
 * Every module's tests use it on the events they produce.
 */
public final class EventSchemas {

    private static final JsonSchemaFactory FACTORY = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    private static final SchemaValidatorsConfig CONFIG =
            SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).pathType(PathType.JSON_PATH).build();
    private static final Map<EventType, JsonSchema> SCHEMAS = new EnumMap<>(EventType.class);

    private EventSchemas() {
    }

    /**
     * Violations of the schema of {@code topicOrType} (a topic name or a {@code ce_type}) by {@code body},
     * each naming the JSON path (e.g. {@code "$.type: does not have a value in the enumeration [...]"});
     * empty when valid.
     */
    public static List<String> validate(String topicOrType, JsonNode body) {
        return validate(EventType.require(topicOrType), body);
    }

    /** Violations of {@code type}'s schema by {@code body}; empty when valid. */
    public static List<String> validate(EventType type, JsonNode body) {
        List<String> out = new ArrayList<>();
        for (ValidationMessage m : schema(type).validate(body)) {
            out.add(m.getMessage());
        }
        out.sort(null);
        return out;
    }

    /** Serializes an event record with {@link Json} and validates it against its class's schema. */
    public static List<String> validate(Object event) {
        return validate(EventType.of(event.getClass()), Json.tree(event));
    }

    /**
     * Checks one Kafka record of {@code topic}: CloudEvent binary-mode headers (see
     * {@link CloudEventAttributes#problems}), {@code ce_type} belonging to {@code topic}, and the body's
     * schema. MinIO's own notifications on {@code kiln.storage.events} carry no CloudEvent headers, so
     * there only the body is checked unless headers are present.
     */
    public static List<String> validateRecord(String topic, Map<String, String> headers, JsonNode body) {
        EventType type = EventType.require(topic);
        List<String> out = new ArrayList<>();
        boolean headersOptional = type == EventType.STORAGE_EVENT
                && !headers.containsKey(CloudEventAttributes.HEADER_SPEC_VERSION);
        if (!headersOptional) {
            out.addAll(CloudEventAttributes.problems(headers));
            String ceType = headers.get(CloudEventAttributes.HEADER_TYPE);
            if (ceType != null && !ceType.equals(type.ceType())) {
                out.add("header ce_type '" + ceType + "' does not belong on topic " + topic
                        + " (expected " + type.ceType() + ")");
            }
        }
        out.addAll(validate(type, body));
        return out;
    }

    private static synchronized JsonSchema schema(EventType type) {
        return SCHEMAS.computeIfAbsent(type, t -> {
            try (InputStream in = EventSchemas.class.getClassLoader().getResourceAsStream(t.schemaResource())) {
                if (in == null) {
                    throw new IllegalStateException("schema resource missing from the class path: " + t.schemaResource());
                }
                return FACTORY.getSchema(in, CONFIG);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + t.schemaResource(), e);
            }
        });
    }
}
