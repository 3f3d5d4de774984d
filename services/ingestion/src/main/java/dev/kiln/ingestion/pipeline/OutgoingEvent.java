package dev.kiln.ingestion.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.model.events.CloudEventAttributes;
import dev.kiln.model.events.EventType;
import dev.kiln.model.json.Json;
import dev.kiln.model.topics.CloudEventSources;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.time.Instant;
import java.util.UUID;

/**
 * An event ingestion publishes: topic, Kafka key, {@code ce_subject} and JSON body. Kept in the dataset index
 * with the object it is about, so a storage event redelivered before its batch committed publishes the same body
 * again instead of validating anew.
 *
 * @param topic   a {@code kiln.*} topic
 * @param key     the Kafka key (dataset or job id; null for an unsafe key, which names neither reliably)
 * @param subject {@code ce_subject}: the object key for image events, the job id for job events
 * @param body    the event body
 */
public record OutgoingEvent(String topic, String key, String subject, JsonNode body) {

    /** The event for {@code body} (an event record of shared-model), topic from its type. */
    public static OutgoingEvent of(Object body, String key, String subject) {
        return new OutgoingEvent(EventType.of(body.getClass()).topic(), key, subject, Json.tree(body));
    }

    /** A binary-mode CloudEvent record: {@code ce_*} headers, a fresh {@code ce_id} and {@code ce_time}. */
    ProducerRecord<String, String> toRecord() {
        EventType type = EventType.require(topic);
        CloudEventAttributes attributes = new CloudEventAttributes(UUID.randomUUID().toString(),
                type.ceType(), CloudEventSources.INGESTION, subject, Instant.now(), CloudEventAttributes.JSON);
        ProducerRecord<String, String> record = new ProducerRecord<>(topic, key, Json.write(body));
        attributes.binaryHeaderBytes().forEach((name, value) -> record.headers().add(name, value));
        return record;
    }

    /** The body's text field {@code name}, or null (for logs and tests). */
    public String text(String name) {
        JsonNode value = body.get(name);
        return value == null || value.isNull() ? null : value.asText();
    }

    @Override
    public String toString() {
        return topic + " " + Json.write(body);
    }
}
